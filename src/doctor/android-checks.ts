import { execa } from 'execa';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { firstLine } from '../device/adb-client.ts';
import { canOpenKvm, emulatorBinaryPath, isExecutable, KVM_DEVICE } from '../android/sdk-host.ts';
import { readSystemImage, type SystemImageInfo } from '../android/sdk-image.ts';
import { missing, present, type CheckResult } from './check.ts';

const SDK_WHAT =
  'the Android SDK root (ANDROID_HOME) that holds the emulator and its system images; the SDK emulator path boots submitted images with it';
const SDK_FIX =
  'download the Android command-line tools (https://developer.android.com/studio#command-tools), unpack them to <sdk>/cmdline-tools/latest, run `<sdk>/cmdline-tools/latest/bin/sdkmanager --install emulator platform-tools`, then export ANDROID_HOME=<sdk>';

export async function checkAndroidSdk(androidHome: string | undefined): Promise<CheckResult> {
  if (!androidHome) return missing('Android SDK', 'ANDROID_HOME is not set', SDK_WHAT, SDK_FIX);
  const info = await stat(androidHome).catch(() => undefined);
  if (!info?.isDirectory()) {
    return missing(
      'Android SDK',
      `ANDROID_HOME=${androidHome} is not a directory`,
      SDK_WHAT,
      SDK_FIX,
    );
  }
  return present('Android SDK', androidHome);
}

export async function checkEmulator(androidHome: string | undefined): Promise<CheckResult> {
  const what =
    'the Android emulator binary ($ANDROID_HOME/emulator/emulator) that boots system images headless';
  const fix = 'run `sdkmanager --install emulator` (needs the Android SDK above)';
  if (!androidHome) return missing('emulator', 'no Android SDK to look in', what, fix);
  const binary = emulatorBinaryPath(androidHome);
  if (!(await isExecutable(binary))) {
    return missing('emulator', `${binary} is missing or not executable`, what, fix);
  }
  const version = await execa(binary, ['-version'], {
    timeout: 15_000,
    reject: false,
    stdin: 'ignore',
  });
  const line = firstLine(String(version.stdout ?? ''));
  return present('emulator', line ? `${line} (${binary})` : binary);
}

export async function checkAdb(adbPath: string): Promise<CheckResult> {
  const what = 'the Android Debug Bridge client, through which canarytrap drives every device';
  const fix =
    'apt-get install -y adb (or `sdkmanager --install platform-tools`), or set CANARYTRAP_ADB to its path';
  const result = await execa(adbPath, ['version'], {
    timeout: 15_000,
    reject: false,
    stdin: 'ignore',
  });
  if (result.failed) {
    const reason =
      result.code === 'ENOENT'
        ? `"${adbPath}" was not found`
        : firstLine(String(result.stderr ?? '')) || `"${adbPath} version" failed`;
    return missing('adb', reason, what, fix);
  }
  return present('adb', firstLine(String(result.stdout)));
}

/** KVM matters on x86 hosts only: the emulator runs x86 images only with it. */
export async function checkKvm(arch: string, kvmPath = KVM_DEVICE): Promise<CheckResult> {
  if (await canOpenKvm(kvmPath)) return present('KVM', `${kvmPath} is accessible`);
  if (arch !== 'x64')
    return present(
      'KVM',
      `${kvmPath} is not accessible; ${arch} hosts can run images without it, slowly`,
    );
  return missing(
    'KVM',
    `${kvmPath} is not accessible`,
    'hardware virtualization; the emulator refuses to run x86/x86_64 system images without it',
    `enable VT-x/AMD-V in the firmware, apt-get install -y qemu-system-x86 (loads the kvm module), and give the worker read-write access to ${kvmPath} (add its user to the kvm group, or pass --device ${kvmPath} to its container)`,
  );
}

export interface InstalledImage {
  /** `system-images/android-34/google_apis/x86_64`. */
  id: string;
  info: SystemImageInfo;
}

/** Every bootable image under `$ANDROID_HOME/system-images/<platform>/<tag>/<abi>`. */
export async function listSystemImages(androidHome: string): Promise<InstalledImage[]> {
  const root = join(androidHome, 'system-images');
  const images: InstalledImage[] = [];
  const subdirs = async (dir: string) =>
    (await readdir(dir, { withFileTypes: true }).catch(() => []))
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(dir, entry.name));
  for (const platform of await subdirs(root)) {
    for (const tag of await subdirs(platform)) {
      for (const abiDir of await subdirs(tag)) {
        const read = await readSystemImage(abiDir);
        if (read.ok) images.push({ id: relative(androidHome, abiDir), info: read.info });
      }
    }
  }
  return images.sort((a, b) => a.id.localeCompare(b.id));
}

export async function checkSystemImages(
  androidHome: string | undefined,
  images: readonly InstalledImage[],
): Promise<CheckResult> {
  const what =
    'an emulator system image (system.img, vendor.img, ramdisk, kernel, source.properties); the end-to-end emulator test and `canarytrap submit` of stock images boot it';
  const fix = `run \`sdkmanager --install "system-images;android-34;default;${process.arch === 'arm64' ? 'arm64-v8a' : 'x86_64'}"\` (submitted firmware images are system-image directories or zips of the same shape)`;
  if (!androidHome) return missing('system images', 'no Android SDK to look in', what, fix);
  if (images.length === 0) {
    return missing('system images', `none under ${join(androidHome, 'system-images')}`, what, fix);
  }
  return present(
    'system images',
    images.map((image) => `${image.id} (API ${image.info.apiLevel}, ${image.info.abi})`).join(', '),
  );
}
