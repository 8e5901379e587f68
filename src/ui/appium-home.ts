import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CanarytrapError } from '../errors.ts';
import { exists } from '../host/fs.ts';

/** The appium package's own command-line entry, installed as an npm dependency. */
export const APPIUM_ENTRY = fileURLToPath(
  new URL('../../node_modules/appium/index.js', import.meta.url),
);

const SETUP_HINT =
  "run `bash scripts/setup.sh` (also part of `npm run demo`'s set-up), which installs appium and its UiAutomator2 driver";

/**
 * Refuses to start Appium where it cannot drive anything: the appium package or the UiAutomator2
 * driver in the Appium home is missing. Appium itself would start and then fail each session.
 */
export async function checkAppiumInstall(appiumEntry: string, appiumHome: string): Promise<void> {
  if (!(await exists(appiumEntry))) {
    throw new CanarytrapError('appium-missing', `appium is not installed (${appiumEntry})`, {
      hint: SETUP_HINT,
    });
  }
  const driver = join(appiumHome, 'node_modules', 'appium-uiautomator2-driver', 'package.json');
  if (!(await exists(driver))) {
    throw new CanarytrapError(
      'appium-missing',
      `the Appium home ${appiumHome} holds no UiAutomator2 driver`,
      { hint: `${SETUP_HINT}; or point CANARYTRAP_APPIUM_HOME at a home that has it` },
    );
  }
}
