import type { Config } from '../config.ts';
import {
  checkAdb,
  checkAndroidSdk,
  checkEmulator,
  checkKvm,
  checkSystemImages,
  listSystemImages,
} from './android-checks.ts';
import { checkCage } from './cage-check.ts';
import type { CheckResult } from './check.ts';
import {
  checkAppium,
  checkFridaModule,
  checkFridaServers,
  checkIntakeTools,
  checkRedis,
} from './host-checks.ts';

export { formatChecks, type CheckResult } from './check.ts';

export interface DoctorOptions {
  /** Default process.arch. */
  arch?: string;
}

/**
 * Every piece the SDK emulator path needs on this host, in the order a person installs them.
 * Each check catches its own trouble, so one broken piece never hides the others.
 */
export async function runDoctor(
  config: Config,
  options: DoctorOptions = {},
): Promise<CheckResult[]> {
  const androidHome = config.androidHome;
  const images = androidHome ? await listSystemImages(androidHome) : [];
  return Promise.all([
    checkAndroidSdk(androidHome),
    checkEmulator(androidHome),
    checkAdb(config.adbPath),
    checkKvm(options.arch ?? process.arch),
    checkSystemImages(androidHome, images),
    checkFridaServers(
      config.fridaServerDir,
      images.map((image) => image.info.abi),
    ),
    checkFridaModule(),
    checkRedis(config.redisUrl),
    checkIntakeTools(),
    checkAppium(config.appiumHome),
    checkCage(),
  ]);
}
