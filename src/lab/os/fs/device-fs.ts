import {
  appendFile,
  chmod,
  lstat,
  mkdir,
  readFile,
  readdir,
  rm,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import type { LabFileStat, LabFileSystem } from '../../services.ts';
import { AttributeStore, type FileArea, type FileAttributes } from './attributes.ts';
import { DeviceFsError, fromHostError } from './errors.ts';
import { MountTable, procMountsText, type MountEntry, type TmpfsMount } from './mounts.ts';

/**
 * The device file system: `/data/local/tmp` and `/sdcard` are writable trees in the phone's
 * temp dir, `/system` is the image's system partition (read-only) with a writable overlay that
 * exists once `mount -o rw,remount /system` ran, a few directories and `/proc` files are
 * synthetic, and everything else does not exist. A tmpfs mounted on a directory (`mount -t
 * tmpfs`) hides what is below it for every reader: the shell, adb sync, the apps' CA store.
 */
export interface DeviceFsLayout {
  /** Host dir backing /data/local/tmp. */
  dataLocalTmp: string;
  /** Host dir backing /sdcard (also /storage/emulated/0, /mnt/sdcard). */
  sdcard: string;
  /** Host dir holding the extracted system partition. */
  systemLower: string;
  /** Host dir holding files written to /system after remount. */
  systemUpper: string;
  /** Host dir under which tmpfs mounts keep their files; default `tmpfs` beside systemUpper. */
  mounts?: string;
}

export interface DeviceFsOptions {
  isSystemWritable(): boolean;
  /** Synthetic read-only files (`/proc/version`). */
  virtualFiles?: Record<string, () => string>;
}

const DIR_MODE = 0o040755;
const VIRTUAL_DIRS = new Set([
  '/',
  '/data',
  '/data/local',
  '/storage',
  '/storage/emulated',
  '/mnt',
  '/proc',
]);
const ROOT_ENTRIES: Record<string, string[]> = {
  '/': ['data', 'mnt', 'proc', 'sdcard', 'storage', 'system'],
  '/data': ['local'],
  '/data/local': ['tmp'],
  '/storage': ['emulated'],
  '/storage/emulated': ['0'],
  '/mnt': ['sdcard'],
};

type Resolved =
  | { kind: 'virtual-dir'; path: string }
  | { kind: 'virtual-file'; path: string; content: () => string }
  | { kind: 'writable'; path: string; host: string; area: FileArea; mount?: TmpfsMount }
  | { kind: 'system'; path: string; relative: string }
  | { kind: 'absent'; path: string };

export class DeviceFileSystem implements LabFileSystem {
  /** Lower-layer files deleted after remount; the overlay hides them. */
  readonly #whiteouts = new Set<string>();
  readonly #mounts: MountTable;
  readonly #attributes = new AttributeStore();

  constructor(
    private readonly layout: DeviceFsLayout,
    private readonly options: DeviceFsOptions,
  ) {
    this.#mounts = new MountTable(layout.mounts ?? join(dirname(layout.systemUpper), 'tmpfs'));
  }

  /** Creates the writable host directories. */
  async init(): Promise<void> {
    await mkdir(this.layout.dataLocalTmp, { recursive: true });
    await mkdir(this.layout.sdcard, { recursive: true });
    await mkdir(this.layout.systemLower, { recursive: true });
    await mkdir(this.layout.systemUpper, { recursive: true });
  }

  resolve(devicePath: string): Resolved {
    const path = posix
      .normalize(posix.isAbsolute(devicePath) ? devicePath : `/${devicePath}`)
      .replace(/(.)\/$/, '$1');
    if (path === '/proc/mounts')
      return { kind: 'virtual-file', path, content: () => procMountsText(this.mounts()) };
    const virtual = this.options.virtualFiles?.[path];
    if (virtual) return { kind: 'virtual-file', path, content: virtual };
    const under = (prefix: string): string | undefined =>
      path === prefix
        ? ''
        : path.startsWith(`${prefix}/`)
          ? path.slice(prefix.length + 1)
          : undefined;
    const mount = this.#mounts.find(path);
    if (mount) {
      const rest = under(mount.dir) ?? '';
      return { kind: 'writable', path, host: join(mount.host, rest), area: 'tmpfs', mount };
    }
    if (VIRTUAL_DIRS.has(path)) return { kind: 'virtual-dir', path };
    const tmp = under('/data/local/tmp');
    if (tmp !== undefined)
      return {
        kind: 'writable',
        path,
        host: join(this.layout.dataLocalTmp, tmp),
        area: 'data-local-tmp',
      };
    for (const prefix of ['/sdcard', '/storage/emulated/0', '/mnt/sdcard']) {
      const rest = under(prefix);
      if (rest !== undefined)
        return { kind: 'writable', path, host: join(this.layout.sdcard, rest), area: 'sdcard' };
    }
    const system = under('/system');
    if (system !== undefined) return { kind: 'system', path, relative: system };
    return { kind: 'absent', path };
  }

  async stat(devicePath: string): Promise<LabFileStat | undefined> {
    const r = this.resolve(devicePath);
    switch (r.kind) {
      case 'virtual-dir':
        return { mode: DIR_MODE, size: 4096, mtime: 0 };
      case 'virtual-file':
        return { mode: 0o100444, size: Buffer.byteLength(r.content()), mtime: 0 };
      case 'writable':
        return hostStat(r.host);
      case 'system': {
        if (this.#whiteouts.has(r.relative)) return undefined;
        return (
          (await hostStat(join(this.layout.systemUpper, r.relative))) ??
          hostStat(join(this.layout.systemLower, r.relative))
        );
      }
      case 'absent':
        return undefined;
    }
  }

  async list(devicePath: string): Promise<Array<LabFileStat & { name: string }>> {
    const r = this.resolve(devicePath);
    const stat = await this.stat(r.path);
    if (!stat) throw new DeviceFsError('ENOENT', r.path);
    if ((stat.mode & 0o170000) !== 0o040000) throw new DeviceFsError('ENOTDIR', r.path);
    let names: string[];
    if (r.kind === 'virtual-dir') names = ROOT_ENTRIES[r.path] ?? [];
    else if (r.kind === 'writable') names = await readdir(r.host);
    else if (r.kind === 'system') {
      const upper = await readdir(join(this.layout.systemUpper, r.relative)).catch(ignoreMissing);
      const lower = await readdir(join(this.layout.systemLower, r.relative)).catch(ignoreMissing);
      names = [...new Set([...lower, ...upper])].filter(
        (n) => !this.#whiteouts.has(posix.join(r.relative, n)),
      );
    } else names = [];
    const entries: Array<LabFileStat & { name: string }> = [];
    for (const name of names.sort()) {
      const child = await this.stat(posix.join(r.path, name));
      if (child) entries.push({ ...child, name });
    }
    return entries;
  }

  async read(devicePath: string): Promise<Buffer> {
    const r = this.resolve(devicePath);
    if (r.kind === 'virtual-file') return Buffer.from(r.content());
    const host = await this.#readableHostPath(r);
    const stat = await hostStat(host);
    if (stat && (stat.mode & 0o170000) === 0o040000) throw new DeviceFsError('EISDIR', r.path);
    return readFile(host).catch((error: unknown) => Promise.reject(fromHostError(error, r.path)));
  }

  /** For the few synchronous readers (identity answers); undefined when the file is absent. */
  readTextSync(devicePath: string): string | undefined {
    const r = this.resolve(devicePath);
    if (r.kind !== 'writable') return undefined;
    try {
      return readFileSync(r.host, 'utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async write(devicePath: string, data: Buffer, mode: number, mtime: number): Promise<void> {
    const host = await this.#writableHostPath(devicePath);
    await mkdir(posix.dirname(host), { recursive: true });
    await writeFile(host, data).catch((error: unknown) =>
      Promise.reject(fromHostError(error, devicePath)),
    );
    await chmod(host, mode & 0o7777 || 0o644);
    if (mtime > 0) await utimes(host, mtime, mtime);
  }

  async append(devicePath: string, data: Buffer | string): Promise<void> {
    const host = await this.#writableHostPath(devicePath);
    const existing = await this.#existingForAppend(devicePath);
    if (existing !== undefined && !(await hostStat(host))) await writeFile(host, existing);
    await appendFile(host, data).catch((error: unknown) =>
      Promise.reject(fromHostError(error, devicePath)),
    );
  }

  async mkdir(devicePath: string, parents: boolean): Promise<void> {
    const existing = await this.stat(devicePath);
    if (existing) {
      if (parents && (existing.mode & 0o170000) === 0o040000) return;
      throw new DeviceFsError('EEXIST', devicePath);
    }
    const host = await this.#writableHostPath(devicePath);
    if (!parents && !(await this.stat(posix.dirname(this.resolve(devicePath).path)))) {
      throw new DeviceFsError('ENOENT', devicePath);
    }
    await mkdir(host, { recursive: true });
  }

  async remove(devicePath: string, recursive: boolean): Promise<void> {
    const stat = await this.stat(devicePath);
    if (!stat) throw new DeviceFsError('ENOENT', devicePath);
    const isDir = (stat.mode & 0o170000) === 0o040000;
    if (isDir && !recursive) throw new DeviceFsError('EISDIR', devicePath);
    const r = this.resolve(devicePath);
    const host = await this.#writableHostPath(devicePath);
    if (r.kind === 'writable' && r.host === this.layout.dataLocalTmp)
      throw new DeviceFsError('EACCES', r.path);
    if (r.kind === 'writable' && r.mount?.dir === r.path) throw new DeviceFsError('EBUSY', r.path);
    await rm(host, { recursive: true, force: true });
    this.#attributes.forget(attributeKey(r));
    if (r.kind === 'system') this.#whiteouts.add(r.relative);
  }

  async chmod(devicePath: string, mode: number): Promise<void> {
    const stat = await this.stat(devicePath);
    if (!stat) throw new DeviceFsError('ENOENT', devicePath);
    const r = this.resolve(devicePath);
    const host = await this.#writableHostPath(devicePath);
    // A mode change on a lower-layer file copies it up first, as overlayfs does.
    if (r.kind === 'system' && !(await hostStat(host))) {
      if ((stat.mode & 0o170000) === 0o040000) await mkdir(host, { recursive: true });
      else {
        await mkdir(posix.dirname(host), { recursive: true });
        await writeFile(host, await readFile(join(this.layout.systemLower, r.relative)));
      }
    }
    await chmod(host, mode);
  }

  /** `mount -t tmpfs tmpfs <dir>`: an empty writable directory over an existing one. */
  async mountTmpfs(devicePath: string, options: string[]): Promise<void> {
    const stat = await this.stat(devicePath);
    const path = this.resolve(devicePath).path;
    if (!stat) throw new DeviceFsError('ENOENT', path);
    if ((stat.mode & 0o170000) !== 0o040000) throw new DeviceFsError('ENOTDIR', path);
    const mount = this.#mounts.addTmpfs(path, options);
    try {
      await mkdir(mount.host, { recursive: true });
      await chmod(mount.host, mount.rootMode);
    } catch (error) {
      this.#mounts.remove(mount);
      throw error;
    }
  }

  /** `umount <dir>`: the tmpfs and everything in it are gone; the directory below shows again. */
  async unmount(devicePath: string): Promise<void> {
    const path = this.resolve(devicePath).path;
    const mount = this.#mounts.topmostOn(path);
    if (!mount) {
      throw new DeviceFsError((await this.stat(path)) ? 'EINVAL' : 'ENOENT', path);
    }
    if (this.#mounts.hasMountsInside(mount)) throw new DeviceFsError('EBUSY', path);
    this.#mounts.remove(mount);
    this.#attributes.forget(`host:${mount.host}`);
    await rm(mount.host, { recursive: true, force: true });
  }

  /** The mount table as /proc/mounts lists it. */
  mounts(): MountEntry[] {
    return this.#mounts.entries(this.options.isSystemWritable());
  }

  /** Owner, group and SELinux label; undefined when the file does not exist. */
  async attributes(devicePath: string): Promise<FileAttributes | undefined> {
    if (!(await this.stat(devicePath))) return undefined;
    const r = this.resolve(devicePath);
    return this.#attributes.get(attributeKey(r), areaOf(r));
  }

  /** chown/chgrp (an id left undefined stays) and chcon; the caller checks who may. */
  async setAttributes(
    devicePath: string,
    change: { uid?: number; gid?: number; label?: string },
  ): Promise<void> {
    if (!(await this.stat(devicePath))) throw new DeviceFsError('ENOENT', devicePath);
    const r = this.resolve(devicePath);
    if (r.kind === 'virtual-dir' || r.kind === 'virtual-file')
      throw new DeviceFsError('EPERM', r.path);
    if (r.kind === 'system' && !this.options.isSystemWritable())
      throw new DeviceFsError('EROFS', r.path);
    if (r.kind === 'writable' && r.mount?.readOnly) throw new DeviceFsError('EROFS', r.path);
    const recorded: Partial<FileAttributes> = {};
    if (change.uid !== undefined) recorded.uid = change.uid;
    if (change.gid !== undefined) recorded.gid = change.gid;
    if (change.label !== undefined) recorded.label = change.label;
    this.#attributes.set(attributeKey(r), recorded);
  }

  async #existingForAppend(devicePath: string): Promise<Buffer | undefined> {
    const r = this.resolve(devicePath);
    if (r.kind !== 'system' || this.#whiteouts.has(r.relative)) return undefined;
    const lower = join(this.layout.systemLower, r.relative);
    return (await hostStat(lower)) ? readFile(lower) : undefined;
  }

  async #readableHostPath(r: Resolved): Promise<string> {
    if (r.kind === 'writable') return r.host;
    if (r.kind === 'system' && !this.#whiteouts.has(r.relative)) {
      const upper = join(this.layout.systemUpper, r.relative);
      if (await hostStat(upper)) return upper;
      return join(this.layout.systemLower, r.relative);
    }
    throw new DeviceFsError(r.kind === 'virtual-dir' ? 'EISDIR' : 'ENOENT', r.path);
  }

  async #writableHostPath(devicePath: string): Promise<string> {
    const r = this.resolve(devicePath);
    if (r.kind === 'writable') {
      if (r.mount?.readOnly) throw new DeviceFsError('EROFS', r.path);
      return r.host;
    }
    if (r.kind === 'system') {
      if (!this.options.isSystemWritable()) throw new DeviceFsError('EROFS', r.path);
      this.#whiteouts.delete(r.relative);
      return join(this.layout.systemUpper, r.relative);
    }
    if (r.kind === 'virtual-file' || r.kind === 'virtual-dir')
      throw new DeviceFsError('EACCES', r.path);
    throw new DeviceFsError(r.path.startsWith('/data/') ? 'EACCES' : 'EROFS', r.path);
  }
}

/** What a file's recorded attributes are keyed by: the storage it lives on, not its path. */
function attributeKey(r: Resolved): string {
  switch (r.kind) {
    case 'writable':
      return `host:${r.host}`;
    case 'system':
      return `system:/${r.relative}`;
    default:
      return `virtual:${r.path}`;
  }
}

function areaOf(r: Resolved): FileArea {
  switch (r.kind) {
    case 'writable':
      return r.area;
    case 'system':
      return 'system';
    case 'virtual-file':
      return 'proc';
    default:
      if (r.path === '/') return 'root';
      if (r.path.startsWith('/proc')) return 'proc';
      if (r.path.startsWith('/data')) return 'data';
      return 'mnt';
  }
}

async function hostStat(host: string): Promise<LabFileStat | undefined> {
  try {
    const s = await lstat(host);
    return {
      mode: s.mode,
      size: s.isDirectory() ? 4096 : s.size,
      mtime: Math.floor(s.mtimeMs / 1000),
    };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

function ignoreMissing(error: unknown): string[] {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return [];
  throw error;
}
