import { looksLikeTls } from './tls-client-hello.ts';

/** What the first bytes of a connection are: TLS, HTTP (1.x or the h2 preface), or anything else. */
export type Opening = 'tls' | 'http' | 'raw';

const METHOD_PREFIX = /^[A-Z]{1,12}$/;
const REQUEST_START = /^[A-Z]{3,12} /;

/** `undecided` until enough bytes have arrived to tell. */
export function classifyOpening(bytes: Buffer): Opening | 'undecided' {
  if (bytes.length === 0) return 'undecided';
  if (bytes[0] === 0x16)
    return bytes.length < 3 ? 'undecided' : looksLikeTls(bytes) ? 'tls' : 'raw';
  const start = bytes.subarray(0, 13).toString('latin1');
  if (REQUEST_START.test(start)) return 'http';
  // Still spelling an upper-case method, its space not here yet: wait for more.
  return METHOD_PREFIX.test(start) && bytes.length < 13 ? 'undecided' : 'raw';
}
