import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.ts';

export interface ApiToken {
  token: string;
  /** True when this start generated it: print it once, it is not shown again. */
  generated: boolean;
  path?: string;
}

/**
 * The configured token wins; otherwise one kept at `<dataRoot>/api-token` (mode 0600), made on
 * first start. `wx` makes two servers starting at once agree on one token.
 */
export async function loadApiToken(
  dataRoot: string,
  configured: string | undefined,
): Promise<ApiToken> {
  if (configured) return { token: checkedToken(configured), generated: false };
  const path = join(dataRoot, 'api-token');
  const existing = (await readFile(path, 'utf8').catch(() => '')).trim();
  if (existing) return { token: existing, generated: false, path };
  await mkdir(dataRoot, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  try {
    await writeFile(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { token: (await readFile(path, 'utf8')).trim(), generated: false, path };
  }
  await chmod(path, 0o600);
  return { token, generated: true, path };
}

/** Shorter than this, a token can be guessed over the network; a generated one has 32. */
export const MIN_TOKEN_LENGTH = 16;

function checkedToken(token: string): string {
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new InputError(
      'config-invalid',
      `CANARYTRAP_API_TOKEN is ${token.length} characters${/\s/.test(token) ? ' and holds white space' : ''}: too easy to guess or to mangle`,
      {
        hint: `use at least ${MIN_TOKEN_LENGTH} random characters (e.g. \`openssl rand -base64 24\`), or unset it to have one generated`,
      },
    );
  }
  return token;
}

export function tokensEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
