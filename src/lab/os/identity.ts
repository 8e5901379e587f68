import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { DeviceIdentity } from '../behaviour/host.ts';
import type { SettingsStore } from './settings.ts';

/** Where the prepare stage writes the run's identifiers; the Frida identity hooks read the same file. */
export const IDENTITY_FILE = '/data/local/tmp/canarytrap/identity.json';

const identityFileSchema = z
  .object({
    imei: z.string(),
    imsi: z.string(),
    iccid: z.string(),
    phoneNumber: z.string(),
    serial: z.string(),
    androidId: z.string(),
    wifiMac: z.string(),
    accounts: z.array(z.string()),
  })
  .partial()
  .passthrough();

export interface IdentityOptions {
  consolePort: number;
  /** `--phone-number`; default the emulator's 1555521<console port>. */
  phoneNumber?: string;
  serial: string;
  /** Reads the identity file's text, undefined when absent. */
  readIdentityFile(): string | undefined;
  settings: SettingsStore;
}

/**
 * The identifiers the device answers. Order of precedence: the identity file (what the hooks
 * answer on a real run), then settings (`settings put secure android_id`), then defaults that
 * look like a stock emulator.
 */
export class IdentitySource {
  readonly #defaults: Required<DeviceIdentity>;

  constructor(private readonly options: IdentityOptions) {
    this.#defaults = {
      imei: '358240051111110',
      imsi: '310260000000000',
      iccid: '89014103211118510720',
      phoneNumber: options.phoneNumber ?? `1555521${options.consolePort}`,
      serial: options.serial,
      androidId: randomBytes(8).toString('hex'),
      wifiMac: '02:15:b2:00:00:00',
      accounts: [],
    };
    if (options.settings.get('secure', 'android_id') === undefined) {
      options.settings.put('secure', 'android_id', this.#defaults.androidId);
    }
  }

  current(): Required<DeviceIdentity> {
    const fromFile = this.#readFile();
    const androidId = this.options.settings.get('secure', 'android_id') ?? this.#defaults.androidId;
    const merged = { ...this.#defaults, androidId };
    const known = Object.entries(fromFile as Record<string, unknown>).filter(
      ([key, value]) => value !== undefined && key in merged,
    );
    Object.assign(merged, Object.fromEntries(known));
    return merged;
  }

  #readFile(): DeviceIdentity {
    const text = this.options.readIdentityFile();
    if (text === undefined) return {};
    try {
      const parsed = identityFileSchema.safeParse(JSON.parse(text));
      // A half-written or malformed file answers nothing rather than crashing the phone;
      // the hooks on a real device behave the same way.
      return parsed.success ? parsed.data : {};
    } catch {
      return {};
    }
  }
}
