import { stat } from 'node:fs/promises';

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
