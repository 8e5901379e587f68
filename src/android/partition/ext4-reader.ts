import { dumpExt4Files, listExt4Dir, readExt4File } from '../ext4.ts';
import type { PartitionReader } from './types.ts';

/** ext4 read in place with debugfs: nothing is extracted that is not asked for. */
export function openExt4Partition(
  image: string,
  timeoutMs: number,
  scratchDir: string,
): PartitionReader {
  return {
    filesystem: 'ext4',
    listDir: (path) => listExt4Dir(image, path, timeoutMs),
    readFile: (path, maxBytes) => readExt4File(image, path, { timeoutMs, maxBytes }),
    extractFiles: (files) => dumpExt4Files(image, files, scratchDir, timeoutMs),
  };
}
