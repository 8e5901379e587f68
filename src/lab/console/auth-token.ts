import { randomInt } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { CanarytrapError } from '../../errors.ts';

const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const TOKEN_LENGTH = 16;

function newToken(): string {
  let token = '';
  for (let i = 0; i < TOKEN_LENGTH; i++) token += TOKEN_ALPHABET[randomInt(TOKEN_ALPHABET.length)];
  return token;
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

/**
 * The console auth token, as the emulator keeps it: read from `path` (normally
 * `~/.emulator_console_auth_token`, see consoleAuthTokenPath() in src/config.ts), or created
 * there with 16 random characters, mode 0600, no newline. An existing empty file means
 * "no authentication", as for the emulator: the result is then ''. `adb emu` reads the same file.
 */
export async function ensureConsoleAuthToken(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw tokenError(path, error);
  }
  const token = newToken();
  try {
    await writeFile(path, token, { mode: 0o600, flag: 'wx' });
    return token;
  } catch (error) {
    // Another emulator or lab phone created it first: use theirs, as adb will.
    if (isErrno(error, 'EEXIST')) return (await readFile(path, 'utf8')).trim();
    throw tokenError(path, error);
  }
}

function tokenError(path: string, cause: unknown): CanarytrapError {
  return new CanarytrapError(
    'console-auth-token-unreadable',
    `cannot read or create the console auth token file ${path}`,
    {
      cause,
      hint: 'make the file readable (mode 0600) or remove it so a new token is created',
    },
  );
}
