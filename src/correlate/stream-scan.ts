import { open } from 'node:fs/promises';
import type { Canary } from '../canary/types.ts';
import { decompress } from './decode/compression.ts';
import { SearchIndex } from './engine.ts';

/**
 * Raw search of a large file streamed from disk with bounded memory: one window buffer is
 * reused, the last (longest variant − 1) bytes are carried over so matches across reads are
 * found once. gzip members found by magic are inflated and searched too.
 */
export interface StreamHit {
  canaryId: string;
  /** Absolute offset in the file (of the gzip member, for hits inside one). */
  offset: number;
  variant: string;
  transforms: string[];
}

export interface StreamScanResult {
  bytes: number;
  hits: StreamHit[];
  /** Hits beyond `maxHits` are counted, not kept. */
  hitCount: number;
  durationMs: number;
}

export interface StreamScanOptions {
  /** Bytes read per step. Default 8 MiB. */
  chunkSize?: number;
  /** Default 10,000. */
  maxHits?: number;
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b, 0x08]);

/**
 * One window of raw bytes: every variant in one pass, then gzip members found by magic. Matches
 * ending inside the first `carried` bytes were reported with the previous window.
 */
export function scanBytes(
  index: SearchIndex,
  view: Buffer,
  carried: number,
  onHit: (variantId: number, offset: number, transforms: string[]) => void,
): void {
  index.matcher.scan(view, (id, start) => onHit(id, start, []), carried);
  for (
    let at = view.indexOf(GZIP_MAGIC, carried);
    at !== -1;
    at = view.indexOf(GZIP_MAGIC, at + 3)
  ) {
    const inflated = decompress('gzip', view.subarray(at));
    if (inflated) index.matcher.scan(inflated, (id) => onHit(id, at, ['gzip']));
  }
}

export async function scanStream(
  path: string,
  canaries: readonly Canary[],
  options: StreamScanOptions = {},
): Promise<StreamScanResult> {
  const started = performance.now();
  const index = new SearchIndex(canaries, []);
  const chunkSize = options.chunkSize ?? 8 * 1024 * 1024;
  const maxHits = options.maxHits ?? 10_000;
  const overlap = Math.max(0, index.matcher.maxLength - 1);
  // allocUnsafeSlow: a buffer of its own, starting at offset 0, so word reads are aligned.
  const window = Buffer.allocUnsafeSlow(chunkSize + overlap);
  const hits: StreamHit[] = [];
  let hitCount = 0;
  const record = (variantId: number, offset: number, extra: string[]): void => {
    hitCount++;
    const variant = index.variants[variantId];
    if (!variant || hits.length >= maxHits) return;
    hits.push({
      canaryId: canaries[variant.canaryIndex]!.id,
      offset,
      variant: variant.label,
      transforms: [...extra, ...variant.transforms],
    });
  };
  const file = await open(path, 'r');
  let total = 0;
  let carried = 0;
  try {
    for (;;) {
      const { bytesRead } = await file.read(window, carried, chunkSize, null);
      if (bytesRead === 0) break;
      const filled = carried + bytesRead;
      const view = window.subarray(0, filled);
      const base = total - carried;
      scanBytes(index, view, carried, (id, offset, extra) => record(id, base + offset, extra));
      total += bytesRead;
      carried = Math.min(overlap, filled);
      window.copyWithin(0, filled - carried, filled);
    }
  } finally {
    await file.close();
  }
  return { bytes: total, hits, hitCount, durationMs: performance.now() - started };
}
