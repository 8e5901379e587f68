import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InputError } from '../errors.ts';
import { writeFileAtomic } from '../host/fs.ts';
import { terminalSafeLines } from '../terminal-text.ts';

/** Why an output path cannot be written, in words, from the errno of a failed stat or write. */
const REASONS: Record<string, string> = {
  ENOENT: 'its directory does not exist',
  ENOTDIR: 'a part of its directory path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  EISDIR: 'it is a directory',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  ENAMETOOLONG: 'the name is too long',
};

function unwritable(path: string, flag: string, reason: string, cause?: unknown): InputError {
  return new InputError('output-unwritable', `cannot write ${flag} ${path}: ${reason}`, {
    cause,
    hint: `give ${flag} a file path in an existing directory you can write to`,
  });
}

function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? (REASONS[code] ?? code) : String(error);
}

/**
 * Refuses an output path that cannot be written before the command does its work: its directory
 * must exist (and be one), and the path must not be a directory. Permissions show at the write.
 */
export async function assertOutputPath(path: string, flag: string): Promise<void> {
  const target = resolve(path);
  const dir = await stat(dirname(target)).catch((error: unknown) => {
    throw unwritable(path, flag, reasonOf(error), error);
  });
  if (!dir.isDirectory()) throw unwritable(path, flag, REASONS['ENOTDIR'] ?? 'ENOTDIR');
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw unwritable(path, flag, REASONS['EISDIR'] ?? 'EISDIR');
}

/** Writes a command's output file atomically (temp file and rename in its directory). */
export async function writeOutputFile(path: string, flag: string, text: string): Promise<void> {
  await assertOutputPath(path, flag);
  await writeFileAtomic(resolve(path), text).catch((error: unknown) => {
    throw unwritable(path, flag, reasonOf(error), error);
  });
}

/**
 * A document (HTML) printed on stdout: exactly as it is when piped or redirected, terminal-safe
 * when a person reads it on a terminal.
 */
export function printDocument(text: string): void {
  process.stdout.write(process.stdout.isTTY ? terminalSafeLines(text) : text);
}
