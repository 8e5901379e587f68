import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The pages load nothing from elsewhere and run only the server's own script; nothing may frame
 * them (a framed page could be clicked through by another site).
 */
const PAGES_CSP = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  "script-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** bull-board's app: its own scripts, styles and XHRs, still nothing remote and no framing. */
const DASHBOARD_CSP = [
  "default-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
].join('; ');

/** Sent on every response, before any route writes its own head. */
export function setSecurityHeaders(res: ServerResponse, area: 'pages' | 'dashboard'): void {
  res.setHeader('content-security-policy', area === 'pages' ? PAGES_CSP : DASHBOARD_CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  // `same-origin`, not `no-referrer`: with no referrer at all, browsers send `Origin: null` on a
  // form post, and the same-origin check below could no longer tell our own pages from others.
  res.setHeader('referrer-policy', 'same-origin');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
}

/**
 * Whether a browser request comes from a page of this server: its Origin (or, lacking one, its
 * Referer) names the host the request was sent to. Ports count: another port of the same host
 * is another origin, though the same site.
 */
export function fromSameOrigin(req: IncomingMessage): boolean {
  const host = req.headers.host?.toLowerCase();
  const claimed = req.headers.origin ?? req.headers.referer;
  if (!host || !claimed || claimed === 'null') return false;
  try {
    const origin = new URL(claimed);
    return (origin.protocol === 'http:' || origin.protocol === 'https:') && origin.host === host;
  } catch {
    return false;
  }
}
