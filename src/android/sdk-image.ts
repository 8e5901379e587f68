import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** What the emulator needs to know about a system image, from its source.properties. */
export interface SystemImageInfo {
  /** `SystemImage.Abi`: x86_64, x86, arm64-v8a, armeabi-v7a. */
  abi: string;
  /** `AndroidVersion.ApiLevel`. */
  apiLevel: number;
  /** The kernel file the image ships: kernel-ranchu (API 25+) or kernel-qemu (older). */
  kernel: 'kernel-ranchu' | 'kernel-qemu';
}

export type SystemImageRead = { ok: true; info: SystemImageInfo } | { ok: false; problem: string };

/** Files every emulator system image holds; userdata.img is optional (the emulator makes one). */
export const REQUIRED_IMAGE_FILES = [
  'system.img',
  'vendor.img',
  'ramdisk.img',
  'build.prop',
  'source.properties',
] as const;

/** `key=value` lines as the SDK writes them (source.properties, config.ini, build.prop). */
export function parseProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim() || line.trimStart().startsWith('#')) continue;
    const equals = line.indexOf('=');
    if (equals > 0) properties.set(line.slice(0, equals).trim(), line.slice(equals + 1).trim());
  }
  return properties;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() === true;
}

/** Reads an emulator system-image directory; a problem is one sentence naming what is missing. */
export async function readSystemImage(imageDir: string): Promise<SystemImageRead> {
  const missing: string[] = [];
  for (const file of REQUIRED_IMAGE_FILES) {
    if (!(await isFile(join(imageDir, file)))) missing.push(file);
  }
  const kernel = (await isFile(join(imageDir, 'kernel-ranchu')))
    ? 'kernel-ranchu'
    : (await isFile(join(imageDir, 'kernel-qemu')))
      ? 'kernel-qemu'
      : undefined;
  if (!kernel) missing.push('kernel-ranchu (or kernel-qemu)');
  if (missing.length > 0 || !kernel) {
    return {
      ok: false,
      problem: `${imageDir} is not an emulator system image: it lacks ${missing.join(', ')}`,
    };
  }
  const properties = parseProperties(await readFile(join(imageDir, 'source.properties'), 'utf8'));
  const abi = properties.get('SystemImage.Abi');
  const apiLevel = Number(properties.get('AndroidVersion.ApiLevel'));
  if (!abi) {
    return { ok: false, problem: `${imageDir}/source.properties has no SystemImage.Abi` };
  }
  if (!Number.isInteger(apiLevel) || apiLevel <= 0) {
    return {
      ok: false,
      problem: `${imageDir}/source.properties has no numeric AndroidVersion.ApiLevel`,
    };
  }
  return { ok: true, info: { abi, apiLevel, kernel } };
}
