import zlib from 'node:zlib';
import { looksBinary } from '../bytes.ts';

/** A decoded inner layer: the transform names to add to the chain, and its bytes. */
export interface Child {
  transforms: string[];
  bytes: Buffer;
}

/** Inflated output above this size is cut: a decompression bomb must not take the process down. */
const MAX_INFLATED = 64 * 1024 * 1024;
/** Unhinted trial decompression only for blobs up to this size. */
const MAX_TRIAL = 4 * 1024 * 1024;

const partial = { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: MAX_INFLATED };

/** Decompresses, keeping what came out of a truncated stream; undefined when it is not that format. */
export function decompress(
  kind: 'gzip' | 'zlib' | 'deflate' | 'brotli',
  bytes: Buffer,
): Buffer | undefined {
  try {
    let out: Buffer;
    switch (kind) {
      case 'gzip': {
        // Inflating past the gzip header by hand: zlib's gunzip rejects trailing bytes, and
        // gzip members inside bodies are followed by other data (multipart, concatenation).
        const body = gzipPayloadStart(bytes);
        if (body === undefined) return undefined;
        out = zlib.inflateRawSync(bytes.subarray(body), partial);
        break;
      }
      case 'zlib':
        out = zlib.inflateSync(bytes, partial);
        break;
      case 'deflate':
        out = zlib.inflateRawSync(bytes, partial);
        break;
      case 'brotli':
        out = zlib.brotliDecompressSync(bytes, { maxOutputLength: MAX_INFLATED });
        break;
    }
    return out.length > 0 ? out : undefined;
  } catch {
    // Not this format (or corrupt past its first byte): the caller tries the next reading.
    return undefined;
  }
}

/** Offset of the deflate stream after a gzip member header (RFC 1952), undefined if none. */
function gzipPayloadStart(bytes: Buffer): number | undefined {
  if (bytes.length < 18 || bytes[0] !== 0x1f || bytes[1] !== 0x8b || bytes[2] !== 8)
    return undefined;
  const flags = bytes[3]!;
  let at = 10;
  if (flags & 0x04) at += 2 + bytes.readUInt16LE(Math.min(at, bytes.length - 2));
  if (flags & 0x08) at = bytes.indexOf(0, at) + 1;
  if (flags & 0x10) at = bytes.indexOf(0, at) + 1;
  if (flags & 0x02) at += 2;
  return at > 0 && at < bytes.length ? at : undefined;
}

function isZlibHeader(bytes: Buffer, at: number): boolean {
  if (at + 2 > bytes.length) return false;
  const cmf = bytes[at]!;
  const flg = bytes[at + 1]!;
  return (cmf & 0x0f) === 8 && cmf >>> 4 <= 7 && ((cmf << 8) | flg) % 31 === 0;
}

/** Content-Encoding values to decoders, outermost last as the header lists them. */
export function contentEncodingChildren(bytes: Buffer, header: string): Child | undefined {
  const codings = header
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '' && s !== 'identity')
    .reverse();
  let current = bytes;
  const transforms: string[] = [];
  for (const coding of codings) {
    let next: Buffer | undefined;
    if (coding === 'gzip' || coding === 'x-gzip') next = decompress('gzip', current);
    else if (coding === 'deflate')
      next = isZlibHeader(current, 0)
        ? decompress('zlib', current)
        : decompress('deflate', current);
    else if (coding === 'br') next = decompress('brotli', current);
    if (next === undefined) return undefined;
    transforms.push(coding === 'br' ? 'brotli' : coding === 'x-gzip' ? 'gzip' : coding);
    current = next;
  }
  return transforms.length > 0 ? { transforms, bytes: current } : undefined;
}

/**
 * Compressed streams found by their magic bytes (gzip anywhere, zlib at the start), or, for
 * binary blobs without magic, by a trial of raw deflate and brotli.
 */
export function compressionChildren(bytes: Buffer): Child[] {
  const children: Child[] = [];
  const magic = Buffer.from([0x1f, 0x8b, 0x08]);
  let found = 0;
  for (let at = bytes.indexOf(magic); at !== -1 && found < 16; at = bytes.indexOf(magic, at + 3)) {
    const out = decompress('gzip', bytes.subarray(at));
    if (out) {
      children.push({ transforms: ['gzip'], bytes: out });
      found++;
    }
  }
  if (found > 0) return children;
  if (isZlibHeader(bytes, 0)) {
    const out = decompress('zlib', bytes);
    if (out) return [{ transforms: ['zlib'], bytes: out }];
  }
  if (bytes.length >= 8 && bytes.length <= MAX_TRIAL && looksBinary(bytes)) {
    const raw = decompress('deflate', bytes);
    if (raw) return [{ transforms: ['deflate'], bytes: raw }];
    const br = decompress('brotli', bytes);
    if (br) return [{ transforms: ['brotli'], bytes: br }];
  }
  return children;
}
