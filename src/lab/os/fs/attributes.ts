/**
 * Owner, group and SELinux label of device files. The host files behind the lab fs belong to
 * whoever runs the tests, so the device's view is kept here: defaults by where a file lives (as
 * an emulator labels its partitions) plus what `chown` and `chcon` recorded.
 */

export interface FileAttributes {
  uid: number;
  gid: number;
  /** SELinux context, `u:object_r:system_file:s0`. */
  label: string;
}

/** Where a file lives, for its default owner and label. */
export type FileArea =
  'root' | 'data' | 'proc' | 'mnt' | 'system' | 'tmpfs' | 'data-local-tmp' | 'sdcard';

const DEFAULTS: Record<FileArea, FileAttributes> = {
  root: { uid: 0, gid: 0, label: 'u:object_r:rootfs:s0' },
  data: { uid: 1000, gid: 1000, label: 'u:object_r:system_data_file:s0' },
  proc: { uid: 0, gid: 0, label: 'u:object_r:proc:s0' },
  mnt: { uid: 0, gid: 1000, label: 'u:object_r:tmpfs:s0' },
  system: { uid: 0, gid: 0, label: 'u:object_r:system_file:s0' },
  // A fresh tmpfs and what is created in it carry the tmpfs type until relabelled.
  tmpfs: { uid: 0, gid: 0, label: 'u:object_r:tmpfs:s0' },
  'data-local-tmp': { uid: 2000, gid: 2000, label: 'u:object_r:shell_data_file:s0' },
  sdcard: { uid: 0, gid: 1015, label: 'u:object_r:sdcardfs:s0' },
};

/** Users and groups of an Android device that shells name (`chown system:system`). */
const IDS: Record<string, number> = {
  root: 0,
  system: 1000,
  radio: 1001,
  bluetooth: 1002,
  graphics: 1003,
  input: 1004,
  audio: 1005,
  camera: 1006,
  log: 1007,
  media: 1013,
  dhcp: 1014,
  sdcard_rw: 1015,
  shell: 2000,
  cache: 2001,
  inet: 3003,
  everybody: 9997,
  nobody: 9999,
};

/** The id of a user or group name or number; undefined when the device has no such id. */
export function androidId(name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number.parseInt(name, 10);
  const known = IDS[name];
  if (known !== undefined) return known;
  const app = /^u(\d+)_a(\d+)$/.exec(name);
  if (app) return Number(app[1]) * 100_000 + 10_000 + Number(app[2]);
  return undefined;
}

/** The name `ls -l` shows for an id. */
export function androidName(id: number): string {
  for (const [name, value] of Object.entries(IDS)) if (value === id) return name;
  const appId = id % 100_000;
  if (appId >= 10_000 && appId < 20_000) return `u${Math.floor(id / 100_000)}_a${appId - 10_000}`;
  return String(id);
}

/** A context the policy could hold: `user:role:type:level`, as setfilecon requires. */
export function isValidLabel(label: string): boolean {
  return /^[a-z_][a-z0-9_]*:object_r:[a-z_][a-z0-9_]*:s0(:c\d+(,c\d+)*)?$/.test(label);
}

export class AttributeStore {
  readonly #recorded = new Map<string, Partial<FileAttributes>>();

  get(key: string, area: FileArea): FileAttributes {
    return { ...DEFAULTS[area], ...this.#recorded.get(key) };
  }

  set(key: string, change: Partial<FileAttributes>): void {
    this.#recorded.set(key, { ...this.#recorded.get(key), ...change });
  }

  /** Forgets `key` and everything below it (a removed tree, an unmounted tmpfs). */
  forget(key: string): void {
    for (const recorded of [...this.#recorded.keys()])
      if (recorded === key || recorded.startsWith(`${key}/`)) this.#recorded.delete(recorded);
  }
}
