import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config.ts';
import {
  abiProblem,
  emulatorBinaryPath,
  isExecutable,
  realHost,
  type EmulatorHost as DeviceHost,
} from '../../android/sdk-host.ts';
import type { EmulatorHost } from '../run-plan.ts';
import { findBaseImages } from './bases.ts';
import type { BaseCatalogue } from '../../image-build/transplant/types.ts';

/** The bundled lab images; `base-*.json` among them are lab bases. */
export const BUNDLED_LAB_IMAGES_DIR = fileURLToPath(
  new URL('../../../images/lab', import.meta.url),
);

/** What planning and carrying out a transplant need from this host. */
export interface TransplantSettings {
  bases: BaseCatalogue;
  /** The SDK emulator here; undefined: none. */
  emulator: EmulatorHost | undefined;
  /** Where lab bases are built and cached. */
  labBuildDir: string;
  /** A build cache shared by data roots (Config.labImageSharedCache), if one is set. */
  labSharedCache?: string;
}

export async function transplantSettings(
  config: Pick<Config, 'dataRoot' | 'baseImageDirs' | 'androidHome' | 'labImageSharedCache'>,
  host: DeviceHost = realHost(),
): Promise<TransplantSettings> {
  return {
    bases: await findBaseImages({
      labImagesDir: BUNDLED_LAB_IMAGES_DIR,
      baseImageDirs: config.baseImageDirs,
      androidHome: config.androidHome,
    }),
    emulator: await detectEmulator(config.androidHome, host),
    labBuildDir: join(config.dataRoot, 'cache', 'lab-images'),
    ...(config.labImageSharedCache ? { labSharedCache: config.labImageSharedCache } : {}),
  };
}

/** The ABIs the SDK emulator runs here, by the launcher's own rules; undefined: no emulator. */
export async function detectEmulator(
  androidHome: string | undefined,
  host: DeviceHost,
): Promise<EmulatorHost | undefined> {
  if (androidHome === undefined || !(await isExecutable(emulatorBinaryPath(androidHome)))) {
    return undefined;
  }
  const abis: string[] = [];
  for (const abi of ['x86_64', 'x86', 'arm64-v8a']) {
    if ((await abiProblem(abi, host)) === undefined) abis.push(abi);
  }
  return abis.length > 0 ? { abis } : undefined;
}
