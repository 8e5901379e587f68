import type { Child } from './compression.ts';

/** Runs shorter than this are not decoded: too many words and ids look like base64 or hex. */
const MIN_RUN = 16;
const MAX_RUNS = 256;

const BASE64_CHAR = (() => {
  const t = new Uint8Array(256);
  for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_')
    t[c.charCodeAt(0)] = 1;
  return t;
})();
const HEX_CHAR = (() => {
  const t = new Uint8Array(256);
  for (const c of '0123456789abcdefABCDEF') t[c.charCodeAt(0)] = 1;
  return t;
})();

/** The name of the JSON key or form field a value at `at` belongs to, for the transform chain. */
export function fieldNameBefore(bytes: Buffer, at: number): string | undefined {
  const before = bytes.subarray(Math.max(0, at - 64), at).toString('latin1');
  const json = /"([^"\\]{1,40})"\s*:\s*"$/.exec(before);
  if (json) return `json:${json[1]}`;
  const form = /(?:^|[&?])([\w.-]{1,40})=$/.exec(before);
  if (form) return `form:${form[1]}`;
  return undefined;
}

/** Base64 runs (standard or URL-safe, with or without padding) decoded. */
export function base64Children(bytes: Buffer): Child[] {
  const children: Child[] = [];
  const n = bytes.length;
  let i = 0;
  while (i < n && children.length < MAX_RUNS) {
    if (BASE64_CHAR[bytes[i]!] === 0) {
      i++;
      continue;
    }
    const start = i;
    let allHex = true;
    let hasUpper = false;
    let hasLower = false;
    let hasDigitOrSign = false;
    while (i < n && BASE64_CHAR[bytes[i]!] === 1) {
      const b = bytes[i]!;
      if (HEX_CHAR[b] === 0) allHex = false;
      if (b >= 0x41 && b <= 0x5a) hasUpper = true;
      else if (b >= 0x61 && b <= 0x7a) hasLower = true;
      else hasDigitOrSign = true;
      i++;
    }
    let end = i;
    while (i < n && bytes[i] === 0x3d && i - end < 2) i++;
    if (end - start < MIN_RUN) continue;
    // Pure hex is left to the hex decoder; plain words (one letter case, nothing else) are prose.
    if (allHex || (!hasDigitOrSign && !(hasUpper && hasLower))) continue;
    // A run glued to '-' or '_' on both sides is more likely an identifier; decoding it is harmless.
    if ((end - start) % 4 === 1) end--;
    const decoded = Buffer.from(bytes.subarray(start, end).toString('latin1'), 'base64');
    if (decoded.length === 0) continue;
    const field = fieldNameBefore(bytes, start);
    children.push({ transforms: field ? [field, 'base64'] : ['base64'], bytes: decoded });
  }
  return children;
}

/** Hex runs of even length decoded. */
export function hexChildren(bytes: Buffer): Child[] {
  const children: Child[] = [];
  const n = bytes.length;
  let i = 0;
  while (i < n && children.length < MAX_RUNS) {
    if (HEX_CHAR[bytes[i]!] === 0) {
      i++;
      continue;
    }
    const start = i;
    let letters = false;
    while (i < n && HEX_CHAR[bytes[i]!] === 1) {
      if (bytes[i]! > 0x39) letters = true;
      i++;
    }
    // Glued to other word characters: part of a longer token (base64, a word), not a hex string.
    if (i < n && BASE64_CHAR[bytes[i]!] === 1) {
      while (i < n && BASE64_CHAR[bytes[i]!] === 1) i++;
      continue;
    }
    if (start > 0 && BASE64_CHAR[bytes[start - 1]!] === 1) continue;
    const length = (i - start) & ~1;
    // All-digit runs are numbers (IMEIs, timestamps), not hex bytes.
    if (length < MIN_RUN || !letters) continue;
    const decoded = Buffer.from(bytes.subarray(start, start + length).toString('latin1'), 'hex');
    const field = fieldNameBefore(bytes, start);
    children.push({ transforms: field ? [field, 'hex'] : ['hex'], bytes: decoded });
  }
  return children;
}

/** %XX decoding of the whole layer (and '+' as space), where percent escapes are present. */
export function percentChild(bytes: Buffer): Child | undefined {
  if (!/%[0-9a-fA-F]{2}/.test(bytes.toString('latin1', 0, Math.min(bytes.length, 1 << 20))))
    return undefined;
  return { transforms: ['percent'], bytes: percentDecode(bytes, false) };
}

export function percentDecode(bytes: Buffer, plusIsSpace: boolean): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  let o = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (
      b === 0x25 &&
      i + 2 < bytes.length + 0 &&
      HEX_CHAR[bytes[i + 1]!] === 1 &&
      HEX_CHAR[bytes[i + 2]!] === 1
    ) {
      out[o++] = parseInt(String.fromCharCode(bytes[i + 1]!, bytes[i + 2]!), 16);
      i += 2;
    } else out[o++] = plusIsSpace && b === 0x2b ? 0x20 : b;
  }
  return out.subarray(0, o);
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/** JSON string escapes (\uXXXX, \/, \", \n…) undone over the whole layer, where present. */
export function jsonEscapeChild(bytes: Buffer): Child | undefined {
  const text = bytes.toString('utf8');
  if (!/\\(u[0-9a-fA-F]{4}|\/)/.test(text)) return undefined;
  const out = text.replaceAll(/\\(u[0-9a-fA-F]{4}|["\\/bfnrt])/g, (_, esc: string) =>
    esc.length === 5
      ? String.fromCharCode(parseInt(esc.slice(1), 16))
      : (SIMPLE_ESCAPES[esc] ?? esc),
  );
  return { transforms: ['json-escape'], bytes: Buffer.from(out, 'utf8') };
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 4648 base32 (case-insensitive, no padding), as DNS tunnels use; undefined if not base32. */
export function base32Decode(text: string): Buffer | undefined {
  const clean = text.toLowerCase().replaceAll('=', '');
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const v = BASE32.indexOf(ch);
    if (v === -1) return undefined;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}
