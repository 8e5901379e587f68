import type { IncomingMessage } from 'node:http';
import { tokensEqual } from './api-token.ts';

export const TOKEN_COOKIE = 'canarytrap_token';

/** A token given as `Authorization: Bearer`, the pages' cookie, or `?token=` (pages, once). */
export function presentedToken(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  const cookie = readCookie(req, TOKEN_COOKIE);
  if (cookie) return cookie;
  return url.searchParams.get('token') ?? undefined;
}

export function isAuthorised(req: IncomingMessage, url: URL, token: string): boolean {
  const given = presentedToken(req, url);
  return given !== undefined && tokensEqual(given, token);
}

/** HttpOnly and SameSite=Strict: scripts cannot read it, and other sites cannot post with it. */
export function tokenCookie(token: string): string {
  return `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`;
}

function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}
