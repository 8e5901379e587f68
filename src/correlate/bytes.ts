import { isUtf8 } from 'node:buffer';

/** Byte helpers shared by the matcher, the decoders and the readers. */

/** ASCII case folding: A-Z to a-z, every other byte unchanged. */
export const FOLD: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (let b = 0; b < 256; b++) table[b] = b >= 0x41 && b <= 0x5a ? b + 0x20 : b;
  return table;
})();

export function isPrintable(b: number): boolean {
  return (b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d;
}

/** Share of printable ASCII bytes (tab, CR and LF included) in the first `sample` bytes. */
export function printableRatio(bytes: Uint8Array, sample = 512): number {
  const n = Math.min(bytes.length, sample);
  if (n === 0) return 1;
  let ok = 0;
  for (let i = 0; i < n; i++) if (isPrintable(bytes[i]!)) ok++;
  return ok / n;
}

/** Binary: control bytes, or not UTF-8 (checked on a prefix cut back to a character boundary). */
export function looksBinary(bytes: Uint8Array, sample = 4096): boolean {
  let n = Math.min(bytes.length, sample);
  if (n === 0) return false;
  let controls = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f) controls++;
  }
  if (controls > n * 0.02) return true;
  if (n < bytes.length) {
    let back = 0;
    while (back < 3 && n - back > 0 && (bytes[n - 1 - back]! & 0xc0) === 0x80) back++;
    n -= back;
    if (n > 0 && bytes[n - 1]! >= 0xc0) n--;
  }
  return !isUtf8(bytes.subarray(0, n));
}

/** A printable excerpt around [start, end): non-printable bytes shown as '.'. */
export function excerptAround(bytes: Uint8Array, start: number, end: number, context = 24): string {
  const from = Math.max(0, start - context);
  const to = Math.min(bytes.length, end + context);
  let out = from > 0 ? '…' : '';
  for (let i = from; i < to; i++) {
    const b = bytes[i]!;
    out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
  }
  return to < bytes.length ? `${out}…` : out;
}

/** The variant bytes as a printable string, for evidence. */
export function printable(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : b === 0 ? '' : '.';
  return out;
}

export function startsWithAt(hay: Uint8Array, at: number, needle: Uint8Array): boolean {
  if (at < 0 || at + needle.length > hay.length) return false;
  for (let i = 0; i < needle.length; i++) if (hay[at + i] !== needle[i]) return false;
  return true;
}

export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
