/** Byte handling for agents: Frida's runtime has no Buffer, and Java byte[] arrives as signed numbers. */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Largest payload an event carries; bigger buffers are cut so one upload cannot flood the queue. */
export const MAX_EVENT_BYTES = 64 * 1024;

export function isByteArray(value: unknown): value is ArrayLike<number> {
  if (value === null || typeof value !== 'object') return false;
  const length = (value as { length?: unknown }).length;
  return (
    typeof length === 'number' &&
    (length === 0 || typeof (value as ArrayLike<unknown>)[0] === 'number')
  );
}

export function toBytes(
  value: ArrayLike<number> | ArrayBuffer,
  offset = 0,
  length?: number,
): Uint8Array {
  // No instanceof: buffers may come from another realm (Frida's runtime, a test's vm context).
  const source = 'length' in value ? value : new Uint8Array(value);
  const end = Math.min(source.length, length === undefined ? source.length : offset + length);
  const out = new Uint8Array(Math.max(0, Math.min(end - offset, MAX_EVENT_BYTES)));
  for (let i = 0; i < out.length; i++) out[i] = (source[offset + i] ?? 0) & 0xff;
  return out;
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const total = Math.min(
    parts.reduce((sum, part) => sum + part.length, 0),
    MAX_EVENT_BYTES,
  );
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    if (at >= total) break;
    const take = part.subarray(0, total - at);
    out.set(take, at);
    at += take.length;
  }
  return out;
}

export function base64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] ?? 0;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    out += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]!;
    out += b === undefined ? '=' : ALPHABET[(n >> 6) & 63]!;
    out += c === undefined ? '=' : ALPHABET[n & 63]!;
  }
  return out;
}

/** UTF-8 encoding of a Java string, for encoders whose output is text. */
export function utf8(text: string): Uint8Array {
  const out: number[] = [];
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x80) out.push(code);
    else if (code < 0x800) out.push(0xc0 | (code >> 6), 0x80 | (code & 63));
    else if (code < 0x10000)
      out.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    else
      out.push(
        0xf0 | (code >> 18),
        0x80 | ((code >> 12) & 63),
        0x80 | ((code >> 6) & 63),
        0x80 | (code & 63),
      );
  }
  return toBytes(out);
}
