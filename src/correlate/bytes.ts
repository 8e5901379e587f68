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

/** Share of printable ASCII bytes in the first `sample` bytes (UTF-8 continuation bytes count as printable). */
export function printableRatio(bytes: Uint8Array, sample = 512): number {
  const n = Math.min(bytes.length, sample);
  if (n === 0) return 1;
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (isPrintable(b) || b >= 0x80) ok++;
  }
  return ok / n;
}

export function looksBinary(bytes: Uint8Array): boolean {
  return printableRatio(bytes, 256) < 0.9;
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
