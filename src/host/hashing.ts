import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/** sha256 of a file's bytes, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A directory's content address: sha256 over its sorted manifest of `<sha256>  <path>` lines
 * (regular
 * files by content; links and other nodes by name only, since their targets are never followed).
 */
export async function sha256Directory(root: string): Promise<string> {
  const lines: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    const rel = relative(root, path).split(sep).join('/');
    if (entry.isFile()) lines.push(`${await sha256File(path)}  ${rel}`);
    else if (entry.isSymbolicLink()) lines.push(`symlink  ${rel}`);
    else if (!entry.isDirectory()) lines.push(`other  ${rel}`);
  }
  lines.sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}
