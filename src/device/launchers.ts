import type { Config } from '../config.ts';
import { CanarytrapError } from '../errors.ts';
import type { AdbClient } from './adb-client.ts';
import type { Launcher } from './device.ts';
import { LabPhoneLauncher } from './lab-phone/launcher.ts';
import { SdkEmulatorLauncher } from './sdk-emulator/launcher.ts';

/** The one place launchers are registered and chosen. */
export function chooseLauncher(
  image: { metadata: { labImage?: boolean } },
  context: {
    config: Config;
    adb: AdbClient;
    data: { options: { launcher?: 'lab-phone' | 'sdk-emulator' } };
  },
): Launcher {
  const wanted =
    context.data.options.launcher ??
    (context.config.launcher === 'auto' ? undefined : context.config.launcher);
  const lab = image.metadata.labImage === true;
  if (wanted === 'sdk-emulator' || (!wanted && !lab)) {
    // Its launch() fails with `emulator-unavailable` and unavailableReason() when it cannot run the image.
    return new SdkEmulatorLauncher({
      adb: context.adb,
      androidHome: context.config.androidHome,
      consoleAuthTokenPath: context.config.consoleAuthTokenPath,
    });
  }
  if (!lab) {
    throw new CanarytrapError(
      'image-not-lab',
      'the lab phone runs lab images only (images with /etc/canarytrap/lab-image.json)',
      {
        permanent: true,
        expected: true,
      },
    );
  }
  return new LabPhoneLauncher({
    adb: context.adb,
    consoleAuthTokenPath: context.config.consoleAuthTokenPath,
  });
}
