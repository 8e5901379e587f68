import { join } from 'node:path';

/**
 * The lab phone's mount table. The partitions are fixed (root, system, data); what changes at
 * run time are tmpfs mounts made by `mount -t tmpfs`, each an empty writable directory on the
 * host that hides the device directory it is mounted on until `umount` or the phone stops.
 */

/** One line of /proc/mounts. */
export interface MountEntry {
  device: string;
  dir: string;
  type: string;
  options: string;
}

export interface TmpfsMount {
  /** Device path of the mount point, normalised. */
  dir: string;
  /** Host directory holding its files. */
  host: string;
  readOnly: boolean;
  /** Options the kernel keeps and shows (`size=…`, `mode=…`, `uid=…`). */
  shownOptions: string[];
  /** Mode of the mount's root directory (`mode=`, default 1777 as the kernel's tmpfs). */
  rootMode: number;
}

/** Options the kernel turns into mount flags, so /proc/mounts shows them as flags, not text. */
const FLAG_OPTIONS = new Set([
  'rw',
  'ro',
  'defaults',
  'relatime',
  'noatime',
  'nosuid',
  'nodev',
  'noexec',
  'exec',
  'suid',
  'dev',
  'sync',
  'async',
  'seclabel',
]);

export class MountTable {
  readonly #tmpfs: TmpfsMount[] = [];
  #next = 0;

  constructor(private readonly hostRoot: string) {}

  /** Records a tmpfs on `dir`; the caller creates its host directory. */
  addTmpfs(dir: string, options: string[]): TmpfsMount {
    const modeOption = options.find((o) => o.startsWith('mode='));
    const mode = modeOption === undefined ? 0o1777 : Number.parseInt(modeOption.slice(5), 8);
    const mount: TmpfsMount = {
      dir,
      host: join(this.hostRoot, `tmpfs-${this.#next++}`),
      readOnly: options.includes('ro'),
      shownOptions: options.filter((o) => !FLAG_OPTIONS.has(o) && o !== ''),
      rootMode: Number.isNaN(mode) ? 0o1777 : mode & 0o7777,
    };
    this.#tmpfs.push(mount);
    return mount;
  }

  /** The mount `path` is inside of: the deepest mount point, the latest when stacked. */
  find(path: string): TmpfsMount | undefined {
    let best: TmpfsMount | undefined;
    for (const mount of this.#tmpfs) {
      const inside =
        path === mount.dir || path.startsWith(mount.dir === '/' ? '/' : `${mount.dir}/`);
      if (inside && (best === undefined || mount.dir.length >= best.dir.length)) best = mount;
    }
    return best;
  }

  /** The latest mount on exactly `dir`. */
  topmostOn(dir: string): TmpfsMount | undefined {
    return this.#tmpfs.findLast((m) => m.dir === dir);
  }

  /** True when another mount sits inside `mount` (umount would be busy). */
  hasMountsInside(mount: TmpfsMount): boolean {
    const index = this.#tmpfs.indexOf(mount);
    return this.#tmpfs.some(
      (m, i) => (i > index && m.dir === mount.dir) || m.dir.startsWith(`${mount.dir}/`),
    );
  }

  remove(mount: TmpfsMount): void {
    const index = this.#tmpfs.indexOf(mount);
    if (index >= 0) this.#tmpfs.splice(index, 1);
  }

  /** /proc/mounts: the fixed partitions of an emulator, then the tmpfs mounts in order. */
  entries(systemWritable: boolean): MountEntry[] {
    return [
      { device: '/dev/root', dir: '/', type: 'ext4', options: 'ro,seclabel,relatime' },
      {
        device: '/dev/block/vda',
        dir: '/system',
        type: 'ext4',
        options: `${systemWritable ? 'rw' : 'ro'},seclabel,relatime`,
      },
      {
        device: '/dev/block/vdb',
        dir: '/data',
        type: 'ext4',
        options: 'rw,seclabel,nosuid,nodev,noatime',
      },
      ...this.#tmpfs.map((m) => ({
        device: 'tmpfs',
        dir: m.dir,
        type: 'tmpfs',
        options: [
          m.readOnly ? 'ro' : 'rw',
          'seclabel',
          'relatime',
          ...m.shownOptions.filter((o) => !o.startsWith('mode=')),
          `mode=${m.rootMode.toString(8).padStart(3, '0')}`,
        ].join(','),
      })),
    ];
  }
}

export function procMountsText(entries: MountEntry[]): string {
  return entries.map((e) => `${e.device} ${e.dir} ${e.type} ${e.options} 0 0\n`).join('');
}
