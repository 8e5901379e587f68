import { randomBytes } from 'node:crypto';
import { rename, stat, writeFile } from 'node:fs/promises';

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
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(temp, path);
}
