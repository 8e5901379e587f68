import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tokensEqual } from './api-token.ts';

export const TOKEN_COOKIE = 'canarytrap_token';

/** How a request proved itself: scripts send a header, pages carry the cookie. */
export type Credential = 'bearer' | 'cookie' | 'query';

/**
 * The token a request presents and how: `Authorization: Bearer`, the pages' cookie, or
 * `?token=` on a page GET only (it is swapped for the cookie at once; an API URL carrying the
 * token would leave it in logs and histories for good).
 */
export function presentedToken(
  req: IncomingMessage,
  url: URL,
): { token: string; via: Credential } | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer '))
    return { token: header.slice('Bearer '.length).trim(), via: 'bearer' };
  const cookie = readCookie(req, TOKEN_COOKIE);
  if (cookie) return { token: cookie, via: 'cookie' };
  const query = url.searchParams.get('token');
  const isPageGet = req.method === 'GET' && !url.pathname.startsWith('/api/');
  if (query && isPageGet) return { token: query, via: 'query' };
  return undefined;
}

/** The credential a request authenticated with, or undefined when it did not. */
export function authenticate(
  req: IncomingMessage,
  url: URL,
  token: string,
): Credential | undefined {
  const given = presentedToken(req, url);
  return given && tokensEqual(given.token, token) ? given.via : undefined;
}

/** HttpOnly and SameSite=Strict: scripts cannot read it, and other sites cannot post with it. */
export function tokenCookie(token: string): string {
  return `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`;
}

export const SESSION_COOKIE = 'canarytrap_session';

/**
 * The CSRF token of a page session: an HMAC of the session's random id under the API token, so
 * the server keeps no state and the token is useless to anyone who cannot read a page (another
 * origin cannot). SameSite alone does not do: another port of the same host is the same site.
 */
export function csrfToken(apiToken: string, session: string): string {
  return createHmac('sha256', apiToken).update(`csrf:${session}`).digest('base64url');
}

/**
 * The CSRF token for the page being rendered; a browser without a session gets one (its cookie
 * is set on this response, before the page's head is written).
 */
export function pageCsrfToken(req: IncomingMessage, res: ServerResponse, apiToken: string): string {
  let session = readCookie(req, SESSION_COOKIE);
  if (!session || !/^[A-Za-z0-9_-]{16,64}$/.test(session)) {
    session = randomBytes(18).toString('base64url');
    res.appendHeader(
      'set-cookie',
      `${SESSION_COOKIE}=${session}; Path=/; HttpOnly; SameSite=Strict`,
    );
  }
  return csrfToken(apiToken, session);
}

/** Whether a state-changing page request carries the CSRF token of its session (`?csrf=`). */
export function csrfValid(req: IncomingMessage, url: URL, apiToken: string): boolean {
  const session = readCookie(req, SESSION_COOKIE);
  const given = url.searchParams.get('csrf');
  return !!session && !!given && tokensEqual(given, csrfToken(apiToken, session));
}

/** A cookie value, or undefined when absent or not valid percent-encoding. */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key !== name) continue;
    try {
      return decodeURIComponent(rest.join('='));
    } catch {
      return undefined;
    }
  }
  return undefined;
}
