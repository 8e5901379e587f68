import { statfs } from 'node:fs/promises';
import { sep } from 'node:path';
import { CanarytrapError } from '../errors.ts';

/** Free space intake always leaves on the store's disk. */
export const DISK_RESERVE_BYTES = 256 * 1024 * 1024;

/** Refuses to start an extraction the disk cannot hold (keeps DISK_RESERVE_BYTES spare). */
export async function assertRoom(dir: string, bytes: number): Promise<void> {
  const info = await statfs(dir);
  const free = info.bavail * info.bsize;
  if (bytes + DISK_RESERVE_BYTES > free) {
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
