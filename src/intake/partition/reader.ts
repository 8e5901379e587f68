import { open } from 'node:fs/promises';
import { InputError } from '../../errors.ts';
import { assertErofs, isErofs, openErofsPartition } from './erofs.ts';
import { openExt4Partition } from './ext4-reader.ts';
import { assertExt4, readExt4Geometry } from '../ext4.ts';

/**
 * What intake needs from a system partition, whatever its filesystem: list a directory, read a
 * small file, copy many files out. Build facts and the app inventory are written against this,
 * so a new filesystem is one more implementation rather than a branch in every reader.
 */
export interface PartitionReader {
  readonly filesystem: PartitionFilesystem;
  /** Entries of a directory (absolute path inside the partition); undefined when absent. */
  listDir(path: string): Promise<PartitionEntry[] | undefined>;
  /** A regular file's bytes; undefined when absent. Larger than maxBytes: an error. */
  readFile(path: string, maxBytes: number): Promise<Buffer | undefined>;
  /** Copies files out to local paths; absent ones are skipped (callers check what arrived). */
  extractFiles(files: ReadonlyArray<{ from: string; to: string }>): Promise<void>;
}

export type PartitionFilesystem = 'ext4' | 'erofs';

export interface PartitionEntry {
  name: string;
  kind: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
}

export interface OpenPartitionOptions {
  timeoutMs: number;
  /** A private, empty directory the reader may fill (erofs is extracted there). */
  scratchDir: string;
  /** Largest total the erofs extraction may write. */
  maxExtractBytes: number;
}

/** Which filesystem a raw partition holds, from its superblock; undefined: neither. */
export async function partitionFilesystem(path: string): Promise<PartitionFilesystem | undefined> {
  if (await readExt4Geometry(path)) return 'ext4';
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(1028);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return isErofs(head.subarray(0, bytesRead)) ? 'erofs' : undefined;
  } finally {
    await handle.close();
  }
}

/** Checks the whole partition is there, then opens a reader for its filesystem. */
export async function openPartition(
  path: string,
  size: number,
  label: string,
  options: OpenPartitionOptions,
): Promise<PartitionReader> {
  const filesystem = await partitionFilesystem(path);
  if (filesystem === 'ext4') {
    await assertExt4(path, size, label);
    return openExt4Partition(path, options.timeoutMs, options.scratchDir);
  }
  if (filesystem === 'erofs') {
    await assertErofs(path, size, label);
    return openErofsPartition(path, label, options);
  }
  throw new InputError('partition-unrecognised', `${label} is neither ext4 nor erofs`, {
    hint: 'submit a system partition image (ext4 or erofs), a sparse image, an OTA or SDK zip',
  });
}
