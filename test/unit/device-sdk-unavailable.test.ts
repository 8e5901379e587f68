import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdbClient } from '../../src/device/adb-client.ts';
import type { EmulatorHost } from '../../src/android/sdk-host.ts';
import { canOpenKvm } from '../../src/android/sdk-host.ts';
import { readSystemImage } from '../../src/android/sdk-image.ts';
import { SdkEmulatorLauncher } from '../../src/device/sdk-emulator/launcher.ts';
import { silentLogger } from '../../src/log.ts';

async function tempRoot(t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'device-sdk-unavailable-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

async function sdkWithEmulator(root: string): Promise<string> {
  const androidHome = join(root, 'sdk');
  await mkdir(join(androidHome, 'emulator'), { recursive: true });
  await writeFile(join(androidHome, 'emulator', 'emulator'), '#!/bin/sh\nexit 0\n');
  await chmod(join(androidHome, 'emulator', 'emulator'), 0o755);
  return androidHome;
}

async function systemImage(root: string, abi: string, skip: string[] = []): Promise<string> {
  const dir = join(root, `image-${abi}`);
  await mkdir(dir, { recursive: true });
  const files: Record<string, string> = {
    'system.img': '',
    'vendor.img': '',
    'ramdisk.img': '',
    'kernel-ranchu': '',
    'build.prop': 'ro.build.version.sdk=33\n',
    'source.properties': `AndroidVersion.ApiLevel=33\nSystemImage.Abi=${abi}\n`,
  };
  for (const [name, content] of Object.entries(files)) {
    if (!skip.includes(name)) await writeFile(join(dir, name), content);
  }
  return dir;
}

function launcher(androidHome: string | undefined, host: EmulatorHost): SdkEmulatorLauncher {
  return new SdkEmulatorLauncher({
    adb: new AdbClient(),
    androidHome,
    consoleAuthTokenPath: '/nonexistent/token',
    host,
  });
}

const withKvm: EmulatorHost = { arch: 'x64', kvmAccessible: async () => true };
const withoutKvm: EmulatorHost = { arch: 'x64', kvmAccessible: async () => false };

test('each reason the SDK emulator cannot run an image is one precise sentence', async (t) => {
  const root = await tempRoot(t);
  const androidHome = await sdkWithEmulator(root);
  const x86 = await systemImage(root, 'x86_64');

  assert.match(
    (await launcher(undefined, withKvm).unavailableReason(x86)) ?? '',
    /^ANDROID_HOME is not set/,
  );
  assert.match(
    (await launcher(join(root, 'empty-sdk'), withKvm).unavailableReason(x86)) ?? '',
    /empty-sdk\/emulator\/emulator is missing or not executable: install it with `sdkmanager emulator`/,
  );
  assert.equal(await launcher(androidHome, withKvm).unavailableReason(x86), undefined);
  assert.match(
    (await launcher(androidHome, withoutKvm).unavailableReason(x86)) ?? '',
    /x86_64, which the emulator runs only with KVM, and \/dev\/kvm is not accessible/,
  );
  const arm = await systemImage(root, 'arm64-v8a');
  assert.match(
    (await launcher(androidHome, withKvm).unavailableReason(arm)) ?? '',
    /does not run ARM images on x86_64 hosts/,
  );
  assert.equal(
    await launcher(androidHome, {
      arch: 'arm64',
      kvmAccessible: async () => false,
    }).unavailableReason(arm),
    undefined,
  );
  const partial = await systemImage(root, 'x86', ['vendor.img', 'kernel-ranchu']);
  assert.equal(
    await launcher(androidHome, withKvm).unavailableReason(partial),
    `${partial} is not an emulator system image: it lacks vendor.img, kernel-ranchu (or kernel-qemu)`,
  );
});

test('source.properties gives the ABI and API level; kernel-qemu serves old images', async (t) => {
  const root = await tempRoot(t);
  const dir = await systemImage(root, 'x86', ['kernel-ranchu']);
  await writeFile(join(dir, 'kernel-qemu'), '');
  assert.deepEqual(await readSystemImage(dir), {
    ok: true,
    info: { abi: 'x86', apiLevel: 33, kernel: 'kernel-qemu' },
  });
  await writeFile(join(dir, 'source.properties'), '# no abi\nAndroidVersion.ApiLevel=21\n');
  assert.deepEqual(await readSystemImage(dir), {
    ok: false,
    problem: `${dir}/source.properties has no SystemImage.Abi`,
  });
});

test('launch refuses an image it cannot run with emulator-unavailable and the same reason', async (t) => {
  const root = await tempRoot(t);
  const image = await systemImage(root, 'arm64-v8a');
  await assert.rejects(
    launcher(await sdkWithEmulator(root), withKvm).launch({
      imageDir: image,
      runDir: root,
      network: {
        dnsServer: { host: '127.0.0.1', port: 53 },
        httpProxy: { host: '127.0.0.1', port: 1 },
      },
      logger: silentLogger(),
    }),
    { name: 'CanarytrapError', code: 'emulator-unavailable', message: /ARM images/ },
  );
});

test('the KVM probe opens the device rather than trusting its permissions', async (t) => {
  const root = await tempRoot(t);
  assert.equal(await canOpenKvm(join(root, 'no-such-kvm')), false);
  await writeFile(join(root, 'fake-kvm'), '');
  assert.equal(await canOpenKvm(join(root, 'fake-kvm')), true);
});
