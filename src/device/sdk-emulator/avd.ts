import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import type { SystemImageInfo } from '../../android/sdk-image.ts';

/** Hardware of every temporary AVD; small, because several run on one worker. */
export interface AvdHardware {
  /** MiB of guest RAM. Default 2048. */
  ramMb: number;
  /** Size of the data partition, as config.ini writes it. Default `2G`. */
  dataPartitionSize: string;
  /** Guest CPU cores. Default 2. */
  cores: number;
}

export const DEFAULT_AVD_HARDWARE: AvdHardware = {
  ramMb: 2048,
  dataPartitionSize: '2G',
  cores: 2,
};

/** The emulator's `hw.cpu.arch` for an image ABI. */
export function cpuArchFor(abi: string): string {
  if (abi === 'arm64-v8a') return 'arm64';
  if (abi.startsWith('armeabi')) return 'arm';
  return abi;
}

/**
 * `image.sysdir.1` as the SDK writes it: relative to the SDK root with a trailing slash. An
 * image outside the SDK (intake's store) keeps its absolute path; `-sysdir` names it too.
 */
export function sysdirEntry(imageDir: string, androidHome: string): string {
  const inside = relative(androidHome, imageDir);
  const path = inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : imageDir;
  return path.endsWith('/') ? path : `${path}/`;
}

export interface AvdConfigInput {
  name: string;
  image: SystemImageInfo;
  /** `image.sysdir.1`, from sysdirEntry. */
  sysdir: string;
  hardware: AvdHardware;
}

/** The AVD's config.ini: headless, no camera or audio, software GPU, the image's ABI. */
export function avdConfigIni(input: AvdConfigInput): string {
  const { name, image, sysdir, hardware } = input;
  const entries: [string, string][] = [
    ['AvdId', name],
    ['avd.ini.displayname', name],
    ['avd.ini.encoding', 'UTF-8'],
    ['abi.type', image.abi],
    ['hw.cpu.arch', cpuArchFor(image.abi)],
    ['hw.cpu.ncore', String(hardware.cores)],
    ['hw.ramSize', String(hardware.ramMb)],
    ['disk.dataPartition.size', hardware.dataPartitionSize],
    ['hw.gpu.enabled', 'yes'],
    ['hw.gpu.mode', 'swiftshader_indirect'],
    ['hw.audioInput', 'no'],
    ['hw.audioOutput', 'no'],
    ['hw.camera.back', 'none'],
    ['hw.camera.front', 'none'],
    ['hw.gps', 'yes'],
    ['hw.battery', 'yes'],
    ['hw.keyboard', 'yes'],
    ['hw.sdCard', 'no'],
    ['hw.lcd.width', '1080'],
    ['hw.lcd.height', '1920'],
    ['hw.lcd.density', '420'],
    ['fastboot.forceColdBoot', 'yes'],
    ['PlayStore.enabled', 'false'],
    ['tag.id', 'default'],
    ['image.sysdir.1', sysdir],
  ];
  return entries.map(([key, value]) => `${key}=${value}\n`).join('');
}

/** `<avd home>/<name>.ini`, the pointer through which `-avd <name>` finds the AVD directory. */
export function avdPointerIni(avdDir: string, apiLevel: number): string {
  return `avd.ini.encoding=UTF-8\npath=${avdDir}\ntarget=android-${apiLevel}\n`;
}

/** A temporary ANDROID_AVD_HOME holding one AVD; remove() deletes all of it. */
export interface TemporaryAvd {
  readonly name: string;
  /** The directory to pass as ANDROID_AVD_HOME. */
  readonly avdHome: string;
  /** `<avdHome>/<name>.avd`, holding config.ini. */
  readonly avdDir: string;
  remove(): Promise<void>;
}

export async function createTemporaryAvd(options: {
  image: SystemImageInfo;
  sysdir: string;
  hardware?: AvdHardware;
  /** Part of the AVD name, for people reading `ps`; the rest is random. */
  label: string;
}): Promise<TemporaryAvd> {
  const avdHome = await mkdtemp(join(tmpdir(), 'canarytrap-avd-'));
  const remove = () => rm(avdHome, { recursive: true, force: true });
  try {
    const name = `canarytrap_${options.label}_${randomBytes(4).toString('hex')}`;
    const avdDir = join(avdHome, `${name}.avd`);
    await mkdir(avdDir);
    await writeFile(
      join(avdDir, 'config.ini'),
      avdConfigIni({
        name,
        image: options.image,
        sysdir: options.sysdir,
        hardware: options.hardware ?? DEFAULT_AVD_HARDWARE,
      }),
    );
    await writeFile(join(avdHome, `${name}.ini`), avdPointerIni(avdDir, options.image.apiLevel));
    return { name, avdHome, avdDir, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
