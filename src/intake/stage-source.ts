import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, rename, statfs } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { CanarytrapError, InputError } from '../errors.ts';
import type { ImageKind } from './sniff.ts';
import { checkSparseImage, SPARSE_MAGIC, unsparse } from './sparse.ts';
import { extractEntry, openZipChecked, type ZipLimits } from './zip-safe.ts';

/**
 * Puts the submitted image's files into an entry directory under construction: system.img
 * as raw ext4 (sparse expanded), plus whatever an SDK image brings beside it (kernel, ramdisk,
 * vendor.img, source.properties...).
 */

export interface StageOptions {
  zipLimits: ZipLimits;
  /** Largest raw system.img accepted (a sparse image's expanded size). */
  maxImageBytes: number;
  timeoutMs: number;
}

/** Names intake writes itself; a submitted file of the same name is not copied. */
const RESERVED = new Set(['metadata.json', 'inventory.json']);

export async function stageSource(
  source: string,
  kind: ImageKind,
  entryDir: string,
  options: StageOptions,
): Promise<void> {
  const label = basename(source);
  await mkdir(entryDir, { recursive: true });
  switch (kind) {
    case 'zip':
      await stageZip(source, label, entryDir, options);
      break;
    case 'directory':
      await stageDirectory(source, label, entryDir, options);
      break;
    case 'sparse':
      await expandSparse(source, join(entryDir, 'system.img'), label, options);
      return;
    case 'ext4':
      // A reflink where the filesystem can, a plain copy elsewhere.
      await copyFile(source, join(entryDir, 'system.img'), constants.COPYFILE_FICLONE);
      return;
  }
  await expandIfSparse(join(entryDir, 'system.img'), label, options);
}

async function stageZip(
  source: string,
  label: string,
  entryDir: string,
  options: StageOptions,
): Promise<void> {
  await using zip = await openZipChecked(source, label, options.zipLimits);
  const system = zip.entries
    .filter((e) => !e.isDirectory && /^(?:[^/]+\/)?system\.img$/.test(e.name))
    .sort((a, b) => a.name.length - b.name.length || a.name.localeCompare(b.name))[0];
  if (!system) {
    throw new InputError(
      'image-no-system',
      `${label} is a zip without a system.img (at its top or in one folder)`,
      {
        hint: 'submit an SDK system-image zip, or the system.img itself',
      },
    );
  }
  const top = system.name.slice(0, system.name.length - 'system.img'.length);
  const selected = zip.entries.filter(
    (e) => !e.isDirectory && e.name.startsWith(top) && !RESERVED.has(e.name.slice(top.length)),
  );
  const bytes = selected.reduce((sum, e) => sum + e.uncompressedSize, 0);
  await assertRoom(entryDir, bytes);
  for (const entry of selected) {
    await extractEntry(zip, entry, entryDir, entry.name.slice(top.length), label);
  }
}

async function stageDirectory(
  source: string,
  label: string,
  entryDir: string,
  options: StageOptions,
): Promise<void> {
  const base = (await isFile(join(source, 'system.img')))
    ? source
    : await singleSubdirWithSystem(source);
  if (!base) {
    throw new InputError(
      'image-no-system',
      `${label} is a directory without a system.img (at its top or in one folder)`,
      {
        hint: 'submit the emulator system-image directory that holds system.img',
      },
    );
  }
  const files: Array<{ from: string; rel: string; size: number }> = [];
  for (const entry of await readdir(base, { withFileTypes: true, recursive: true })) {
    // Symbolic links are never followed: a link could point anywhere on this machine.
    if (!entry.isFile()) continue;
    const from = join(entry.parentPath, entry.name);
    const rel = relative(base, from);
    if (RESERVED.has(rel)) continue;
    files.push({ from, rel, size: (await lstat(from)).size });
  }
  const bytes = files.reduce((sum, f) => sum + f.size, 0);
  if (bytes > options.zipLimits.maxTotalBytes) {
    throw new InputError(
      'image-too-large',
      `${label} holds ${bytes} bytes, above the limit of ${options.zipLimits.maxTotalBytes}`,
    );
  }
  await assertRoom(entryDir, bytes);
  for (const file of files) {
    const to = join(entryDir, file.rel);
    await mkdir(join(to, '..'), { recursive: true });
    await copyFile(file.from, to, constants.COPYFILE_FICLONE);
  }
}

async function singleSubdirWithSystem(dir: string): Promise<string | undefined> {
  const subdirs = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  for (const name of subdirs) {
    if (await isFile(join(dir, name, 'system.img'))) return join(dir, name);
  }
  return undefined;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch {
    return false;
  }
}

/** SDK zips of some vendors carry system.img in sparse form. */
async function expandIfSparse(path: string, label: string, options: StageOptions): Promise<void> {
  const handle = await open(path, 'r');
  const head = Buffer.alloc(4);
  try {
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  if (head.readUInt32LE(0) !== SPARSE_MAGIC) return;
  const raw = `${path}.raw`;
  await expandSparse(path, raw, `${label}: system.img`, options);
  await rename(raw, path);
}

async function expandSparse(
  from: string,
  to: string,
  label: string,
  options: StageOptions,
): Promise<void> {
  const summary = await checkSparseImage(from, label, options.maxImageBytes);
  await assertRoom(join(to, '..'), summary.outputBytes);
  await unsparse(from, to, label, options.maxImageBytes, options.timeoutMs);
}

/** Refuses to start an extraction the disk cannot hold (keeps 256 MiB spare). */
async function assertRoom(dir: string, bytes: number): Promise<void> {
  const info = await statfs(dir);
  const free = info.bavail * info.bsize;
  if (bytes + 256 * 1024 * 1024 > free) {
    throw new CanarytrapError(
      'store-full',
      `the image needs ${bytes} bytes and the store has ${free} free`,
      {
        hint: 'free disk space under the data root, or move CANARYTRAP_DATA to a larger disk',
        details: { dir: dir.split(sep).slice(-3).join('/') },
      },
    );
  }
}
