import { open } from 'node:fs/promises';
import { InputError } from '../../errors.ts';
import { assertErofs, isErofs, openErofsPartition } from './erofs.ts';
import { openExt4Partition } from './ext4-reader.ts';
import { assertExt4, readExt4Geometry } from '../ext4.ts';
import type { PartitionFilesystem, PartitionReader, OpenPartitionOptions } from './types.ts';

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
