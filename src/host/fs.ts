import { randomBytes } from 'node:crypto';
import { rename, rm, stat, writeFile } from 'node:fs/promises';

/**
 * Whether `path` exists (links followed, so a dangling link does not), and when `kind` is
 * given, whether it is a regular file or a directory.
 */
export async function exists(path: string, kind?: 'file' | 'dir'): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return false;
  if (kind === 'file') return info.isFile();
  if (kind === 'dir') return info.isDirectory();
  return true;
}

/** Writes JSON through a temp file and a rename, so a reader never sees half a file. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Writes through a temp file beside `path` and a rename, so a reader never sees half a file and a
 * failed write leaves what was there. The temp file is removed when the write or rename fails.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, data, { flag: 'wx' });
    await rename(temp, path);
  } catch (error) {
    // The write's own error is the one to report; a temp file left behind is only clutter.
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}
