import { open, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CanarytrapError, InputError } from '../errors.ts';
import { runTool, runToolBytes } from './tools.ts';

/**
 * Raw ext4 partitions: made with Debian's mke2fs, read with debugfs, so intake never mounts a
 * suspect filesystem (no root, no kernel parser exposed to it).
 */

const SUPERBLOCK_OFFSET = 1024;
const EXT4_MAGIC = 0xef53;
const INCOMPAT_64BIT = 0x80;

export interface Ext4Geometry {
  blockSize: number;
  blocks: bigint;
  /** blocks × blockSize: the size the file must have at least. */
  bytes: bigint;
}

/** Reads the superblock; undefined when the bytes are not ext2/3/4. */
export async function readExt4Geometry(path: string): Promise<Ext4Geometry | undefined> {
  const handle = await open(path, 'r');
  try {
    const sb = Buffer.alloc(1024);
    const { bytesRead } = await handle.read(sb, 0, sb.length, SUPERBLOCK_OFFSET);
    if (bytesRead < 0x154 || sb.readUInt16LE(56) !== EXT4_MAGIC) return undefined;
    const logBlockSize = sb.readUInt32LE(24);
    if (logBlockSize > 6) return undefined;
    const blockSize = 1024 << logBlockSize;
    const high = (sb.readUInt32LE(96) & INCOMPAT_64BIT) !== 0 ? BigInt(sb.readUInt32LE(0x150)) : 0n;
    const blocks = (high << 32n) | BigInt(sb.readUInt32LE(4));
    return { blockSize, blocks, bytes: blocks * BigInt(blockSize) };
  } finally {
    await handle.close();
  }
}

/** Checks that a file is a whole ext4 filesystem; `ext4-invalid` says what is wrong. */
export async function assertExt4(path: string, size: number, label: string): Promise<Ext4Geometry> {
  const geometry = await readExt4Geometry(path);
  if (!geometry) {
    throw new InputError('ext4-invalid', `${label} has no ext4 superblock`, {
      hint: 'submit a raw ext4 system.img, a sparse image or an SDK system-image zip',
    });
  }
  if (BigInt(size) < geometry.bytes) {
    throw new InputError(
      'ext4-invalid',
      `${label} is truncated: its superblock declares ${geometry.bytes} bytes, the file has ${size}`,
      { hint: 'copy the image again; the transfer was cut short' },
    );
  }
  return geometry;
}

export interface MakeExt4Options {
  label: string;
  sizeBytes: number;
  /** Fixed UUID and hash seed so the same staging tree gives the same bytes. */
  uuid: string;
  timeoutMs: number;
}

/** mke2fs -t ext4 -d: an ext4 image holding the staging tree, times pinned for reproducibility. */
export async function makeExt4(
  stagingDir: string,
  outFile: string,
  options: MakeExt4Options,
): Promise<void> {
  await pinTimes(stagingDir);
  const sizeKiB = Math.ceil(options.sizeBytes / 4096) * 4;
  await runTool(
    'mke2fs',
    [
      '-q',
      '-F',
      '-t',
      'ext4',
      '-b',
      '4096',
      '-d',
      stagingDir,
      '-L',
      options.label,
      '-U',
      options.uuid,
      '-E',
      `hash_seed=${options.uuid}`,
      outFile,
      `${sizeKiB}k`,
    ],
    { timeoutMs: options.timeoutMs, env: { E2FSPROGS_FAKE_TIME: '1230768000' } },
  );
}

const PINNED_TIME = new Date('2009-01-01T00:00:00Z');

async function pinTimes(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await pinTimes(path);
    if (!entry.isSymbolicLink()) await utimes(path, PINNED_TIME, PINNED_TIME);
  }
  await utimes(dir, PINNED_TIME, PINNED_TIME);
}

export interface Ext4Entry {
  name: string;
  kind: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
}

/**
 * Whether debugfs can be handed a path as text: absolute, with no line break (a request ends at
 * one) and no NUL. Quotes, backslashes and escape characters are fine once quoted
 * (debugfsQuoted). A path with a line break is still read, by inode (ext4PathSpec): firmware
 * names files as it likes, and an app must not vanish from the inventory for it.
 */
export function isSafeFsPath(path: string): boolean {
  return path.startsWith('/') && !/[\n\r\0]/.test(path);
}

/** A path as one debugfs argument: in double quotes, a quote inside written twice. */
export function debugfsQuoted(path: string): string {
  return `"${path.replaceAll('"', '""')}"`;
}

/** ext4's root directory is always inode 2. */
const ROOT_INODE = 2;

/**
 * How to name `path` to debugfs: quoted text when it can be said on one line, otherwise its
 * inode (`<n>`), found by walking down from the root one listing at a time. Undefined when the
 * path does not exist or cannot be named at all (a NUL, a relative path).
 */
async function ext4PathSpec(
  image: string,
  path: string,
  timeoutMs: number,
): Promise<string | undefined> {
  if (isSafeFsPath(path)) return debugfsQuoted(path);
  if (!path.startsWith('/') || path.includes('\0')) return undefined;
  let spec = `<${ROOT_INODE}>`;
  for (const name of path.split('/').filter((part) => part !== '')) {
    const entries = await listBySpec(image, spec, timeoutMs);
    const entry = entries?.find((e) => e.name === name);
    if (!entry) return undefined;
    spec = `<${entry.inode}>`;
  }
  return spec;
}

/** debugfs `ls -p`: undefined when the directory does not exist. */
export async function listExt4Dir(
  image: string,
  dir: string,
  timeoutMs: number,
): Promise<Ext4Entry[] | undefined> {
  const spec = await ext4PathSpec(image, dir, timeoutMs);
  if (!spec) return undefined;
  const entries = await listBySpec(image, spec, timeoutMs);
  return entries?.map(({ name, kind, size }) => ({ name, kind, size }));
}

async function listBySpec(
  image: string,
  spec: string,
  timeoutMs: number,
): Promise<Array<Ext4Entry & { inode: number }> | undefined> {
  const result = await runTool('debugfs', ['-R', `ls -p ${spec}`, image], { timeoutMs });
  assertOpened(result.stderr, image);
  if (/File not found|not a directory/i.test(result.stderr)) return undefined;
  const entries: Array<Ext4Entry & { inode: number }> = [];
  // /inode/mode/uid/gid/name/size/, one per line, but a name may hold a line break itself (never
  // a slash), so entries are matched across lines rather than split at them.
  for (const match of result.stdout.matchAll(/^\/(\d+)\/(\d+)\/\d+\/\d+\/([^/]*)\/(\d*)\/$/gm)) {
    const [, inode = '', mode = '', name = '', size = ''] = match;
    if (name === '.' || name === '..') continue;
    const type = mode.padStart(6, '0').slice(0, 2);
    const kind =
      type === '04' ? 'dir' : type === '10' ? 'file' : type === '12' ? 'symlink' : 'other';
    entries.push({ name, kind, size: Number(size || 0), inode: Number(inode) });
  }
  return entries;
}

/** debugfs `cat`: the file's bytes, or undefined when it is absent. */
export async function readExt4File(
  image: string,
  path: string,
  options: { timeoutMs: number; maxBytes: number },
): Promise<Buffer | undefined> {
  const spec = await ext4PathSpec(image, path, options.timeoutMs);
  if (!spec) return undefined;
  const result = await runToolBytes('debugfs', ['-R', `cat ${spec}`, image], options);
  assertOpened(result.stderr, image);
  if (/File not found|is a directory/i.test(result.stderr)) return undefined;
  return result.stdout;
}

/** Dumps many files in one debugfs run (one process, however many APKs). */
export async function dumpExt4Files(
  image: string,
  files: ReadonlyArray<{ from: string; to: string }>,
  scratchDir: string,
  timeoutMs: number,
): Promise<void> {
  const commands: string[] = [];
  for (const file of files) {
    // The targets are our own scratch paths; the sources are the image's names, any of them.
    const from = await ext4PathSpec(image, file.from, timeoutMs);
    if (from && isSafeFsPath(file.to)) commands.push(`dump ${from} ${debugfsQuoted(file.to)}\n`);
  }
  if (commands.length === 0) return;
  const script = join(scratchDir, 'debugfs-dump.cmd');
  await writeFile(script, commands.join(''));
  const result = await runTool('debugfs', ['-f', script, image], { timeoutMs });
  assertOpened(result.stderr, image);
}

/** Copies the whole filesystem into `targetDir` (which must exist), links kept as links. */
export async function rdumpExt4(
  image: string,
  targetDir: string,
  timeoutMs: number,
): Promise<void> {
  if (!isSafeFsPath(targetDir)) {
    throw new CanarytrapError('path-unsafe', `cannot hand ${targetDir} to debugfs`, {
      hint: 'use a data root whose path has no line breaks',
    });
  }
  const result = await runTool('debugfs', ['-R', `rdump / ${debugfsQuoted(targetDir)}`, image], {
    timeoutMs,
  });
  assertOpened(result.stderr, image);
}

function assertOpened(stderr: string, image: string): void {
  if (/while (trying to open|opening filesystem|reading)|Bad magic|corrupt/i.test(stderr)) {
    const reason = stderr.split('\n').find((l) => /while|magic|corrupt/i.test(l)) ?? stderr;
    throw new InputError('ext4-invalid', `the ext4 filesystem cannot be read: ${reason.trim()}`, {
      hint: 'the image is damaged; submit an intact copy',
      details: { image: image.split('/').slice(-1)[0] },
    });
  }
}
