/** The settings provider's three tables, as `settings get|put|delete|list` sees them. */
export type SettingsNamespace = 'system' | 'secure' | 'global';

export const SETTINGS_NAMESPACES: readonly SettingsNamespace[] = ['system', 'secure', 'global'];

export function isSettingsNamespace(value: string): value is SettingsNamespace {
  return (SETTINGS_NAMESPACES as readonly string[]).includes(value);
}

export class SettingsStore {
  readonly #tables: Record<SettingsNamespace, Map<string, string>> = {
    system: new Map([
      ['screen_off_timeout', '60000'],
      ['time_12_24', '24'],
      ['accelerometer_rotation', '0'],
    ]),
    secure: new Map([
      ['location_providers_allowed', 'gps,network'],
      ['location_mode', '3'],
      ['install_non_market_apps', '0'],
      ['user_setup_complete', '1'],
    ]),
    global: new Map([
      ['adb_enabled', '1'],
      ['airplane_mode_on', '0'],
      ['auto_time', '0'],
      ['auto_time_zone', '0'],
      ['device_provisioned', '1'],
      ['package_verifier_enable', '0'],
      ['wifi_on', '1'],
    ]),
  };
  readonly #listeners = new Set<
    (ns: SettingsNamespace, key: string, value: string | undefined) => void
  >();

  get(ns: SettingsNamespace, key: string): string | undefined {
    return this.#tables[ns].get(key);
  }

  put(ns: SettingsNamespace, key: string, value: string): void {
    this.#tables[ns].set(key, value);
    for (const listener of this.#listeners) listener(ns, key, value);
  }

  delete(ns: SettingsNamespace, key: string): boolean {
    const existed = this.#tables[ns].delete(key);
    for (const listener of this.#listeners) listener(ns, key, undefined);
    return existed;
  }

  list(ns: SettingsNamespace): Array<[string, string]> {
    return [...this.#tables[ns].entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  onChange(
    listener: (ns: SettingsNamespace, key: string, value: string | undefined) => void,
  ): void {
    this.#listeners.add(listener);
  }
}
