import { normaliseName } from './addresses.ts';
import type { Responder } from './types.ts';

/** What every request without a matching responder gets: a bland success. */
export const DEFAULT_ANSWER: Responder = {
  host: '*',
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: '{"status":"ok"}',
};

/** The first responder for this host and path, or the default answer. */
export function pickResponder(
  responders: readonly Responder[],
  host: string,
  path: string,
): Responder {
  const name = normaliseName(host);
  return (
    responders.find(
      (r) =>
        hostMatches(r.host, name) && (r.pathPrefix === undefined || path.startsWith(r.pathPrefix)),
    ) ?? DEFAULT_ANSWER
  );
}

/** One sentence for a report: what this responder answers, and with what. */
export function explainResponder(responder: Responder): string {
  const where = `${responder.host}${responder.pathPrefix ?? '/'}*`;
  return `answers requests to ${where} with ${responder.status} (${Buffer.byteLength(responder.body)} bytes)`;
}

function hostMatches(pattern: string, name: string): boolean {
  const wanted = normaliseName(pattern);
  if (wanted === '*') return true;
  if (wanted.startsWith('*.')) return name.endsWith(wanted.slice(1));
  return wanted === name;
}
