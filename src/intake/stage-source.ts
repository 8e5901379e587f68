import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, rename } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { InputError } from '../errors.ts';
import { assertRoom } from '../host/disk-room.ts';
import type { ImageKind } from './sniff.ts';
import { stageOtaZip, stagePayload, stageSuper } from './ota/stage-ota.ts';
import { isSuperImage } from './ota/super-image.ts';
import { checkSparseImage, SPARSE_MAGIC, unsparse } from './sparse.ts';
import { extractEntry, openZipChecked } from '../android/zip-safe.ts';
import type { StageOptions } from './stage-options.ts';

/**
 * Puts the submitted image's files into an entry directory under construction: system.img
 * as a raw partition (sparse expanded, taken out of payload.bin, a transfer list or
 * super.img), plus whatever an SDK image brings beside it (kernel, ramdisk,
 * vendor.img, source.properties...).
 */

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
      break;
    case 'ext4':
    case 'erofs':
      // A reflink where the filesystem can, a plain copy elsewhere.
      await copyFile(source, join(entryDir, 'system.img'), constants.COPYFILE_FICLONE);
      return;
    case 'payload':
      await stagePayload(source, label, entryDir, options);
      return;
    case 'super':
      await stageSuper(source, label, entryDir, options);
      return;
  }
  const systemImg = join(entryDir, 'system.img');
  if (kind !== 'sparse') await expandIfSparse(systemImg, label, options);
  if (await startsLikeSuper(systemImg)) {
    const superImage = join(options.scratchDir, 'super.img');
    await rename(systemImg, superImage);
    await stageSuper(superImage, `${label}: super.img`, entryDir, options);
  }
}

async function startsLikeSuper(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(4100);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return isSuperImage(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
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
    if (await stageOtaZip(zip, label, entryDir, options)) return;
    throw new InputError(
      'image-no-system',
      `${label} is a zip without a system.img, payload.bin, system.transfer.list or super.img (at its top or in one folder)`,
      {
        hint: 'submit an SDK system-image zip, a full OTA or factory zip, or the system.img itself',
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
