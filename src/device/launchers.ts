import type { Config, LauncherName } from '../config.ts';
import { CanarytrapError } from '../errors.ts';
import type { AdbClient } from './adb-client.ts';
import type { Launcher } from './device.ts';
import { LabPhoneLauncher } from './lab-phone/launcher.ts';
import { SdkEmulatorLauncher } from './sdk-emulator/launcher.ts';

/** What choosing a launcher knows of an image. */
export interface ImageToBoot {
  metadata: { labImage?: boolean };
}

/** What a launcher is made from. */
export interface LauncherServices {
  config: Config;
  adb: AdbClient;
}

/**
 * One launcher's registry entry: everything the rest of canarytrap needs to know about it. The
 * launcher itself lives in its folder (`src/device/<name>/`); nothing outside this file and
 * that folder names it.
 */
export interface LauncherEntry {
  /** What a run plan calls an image this launcher boots as it is (stored in inventories). */
  readonly runMode: string;
  /** The run's DNS server must listen on port 53 (the emulator's -dns-server takes no port). */
  readonly dnsOnPort53: boolean;
  /** With no launcher named, the first entry claiming an image boots it. */
  claims(image: ImageToBoot): boolean;
  /** Named for an image it cannot boot at all: the error; undefined: it tries, and says why not. */
  refuses(image: ImageToBoot): CanarytrapError | undefined;
  create(services: LauncherServices): Launcher;
}

export type LauncherRegistry = Readonly<Record<string, LauncherEntry>>;

/** The one place launchers are registered, in the order they claim images. */
export const LAUNCHERS = {
  'lab-phone': {
    runMode: 'lab-phone',
    dnsOnPort53: false,
    claims: (image) => image.metadata.labImage === true,
    refuses: (image) =>
      image.metadata.labImage === true
        ? undefined
        : new CanarytrapError(
            'image-not-lab',
            'the lab phone runs lab images only (images with /etc/canarytrap/lab-image.json)',
            { permanent: true, expected: true },
          ),
    create: ({ config, adb }) =>
      new LabPhoneLauncher({ adb, consoleAuthTokenPath: config.consoleAuthTokenPath }),
  },
  'sdk-emulator': {
    runMode: 'emulator',
    dnsOnPort53: true,
    claims: (image) => image.metadata.labImage !== true,
    // Its launch() fails with `emulator-unavailable` and unavailableReason() when it cannot run the image.
    refuses: () => undefined,
    create: ({ config, adb }) =>
      new SdkEmulatorLauncher({
        adb,
        androidHome: config.androidHome,
        consoleAuthTokenPath: config.consoleAuthTokenPath,
      }),
  },
} as const satisfies Record<LauncherName, LauncherEntry>;

/** What a run plan calls an image that boots as it is: one per launcher. */
export type LauncherRunMode = (typeof LAUNCHERS)[LauncherName]['runMode'];

export interface ChosenLauncher {
  launcher: Launcher;
  entry: LauncherEntry;
}

/**
 * The launcher a job boots its image on: the one the job or the config names, else the first
 * registered that claims the image.
 */
export function chooseLauncher(
  image: ImageToBoot,
  context: {
    config: Config;
    adb: AdbClient;
    data: { options: { launcher?: string } };
  },
  registry: LauncherRegistry = LAUNCHERS,
): ChosenLauncher {
  const wanted =
    context.data.options.launcher ??
    (context.config.launcher === 'auto' ? undefined : context.config.launcher);
  const named = wanted === undefined ? undefined : registry[wanted];
  if (wanted !== undefined && !named) {
    throw new CanarytrapError('launcher-unknown', `there is no launcher named "${wanted}"`, {
      permanent: true,
      expected: true,
      hint: `use one of ${Object.keys(registry).join(', ')}`,
    });
  }
  const entry = named ?? Object.values(registry).find((e) => e.claims(image));
  if (!entry) {
    throw new CanarytrapError('launcher-none', 'no registered launcher boots this image', {
      permanent: true,
    });
  }
  const refusal = entry.refuses(image);
  if (refusal) throw refusal;
  return { launcher: entry.create(context), entry };
}
