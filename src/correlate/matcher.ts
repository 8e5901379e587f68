import { endianness } from 'node:os';
import { FOLD } from './bytes.ts';

/**
 * Multi-pattern search over bytes in one pass.
 *
 * Every pattern of at least WINDOW (7) bytes holds, wherever it occurs, exactly one 4-byte word
 * that starts at a multiple of 4 in memory inside a 7-byte window we pick per pattern. So the scan
 * reads the haystack as aligned 32-bit words (one load per 4 bytes), hashes each word (ASCII case
 * folded with `| 0x20202020`, so one table serves case-insensitive patterns too) and tests a
 * bitset; only on a hit are the few patterns registered under that hash verified byte by byte.
 * Each pattern registers the 4 words of its window (one per alignment). The window is chosen to
 * avoid q-grams shared with other patterns and common text, which keeps verification rare. This
 * is a q-gram filter in the family of Wu-Manber; measured against Aho-Corasick in JS it is several
 * times faster because it touches a quarter of the positions. Patterns shorter than WINDOW fall
 * back to Buffer.indexOf (there are few: variants are built to be longer).
 */
export interface PatternSpec {
  bytes: Uint8Array;
  caseInsensitive: boolean;
}

export type MatchHandler = (patternId: number, start: number) => void;

const WINDOW = 7;
const HASH_BITS = 20;
const HASH_SHIFT = 32 - HASH_BITS;
const HASH_MUL = 0x9e3779b1 | 0;
const LITTLE_ENDIAN = endianness() === 'LE';

/** Bytes common in text and HTTP: windows made of them are picked last. */
function byteCommonness(b: number): number {
  const c = FOLD[b]!;
  if (c === 0x20 || c === 0x00) return 6;
  if ('etaoinsrhl'.includes(String.fromCharCode(c))) return 4;
  if (c >= 0x61 && c <= 0x7a) return 2;
  if (c === 0x22 || c === 0x3a || c === 0x2c || c === 0x3d || c === 0x26 || c === 0x2f) return 3;
  return 1;
}

function wordAt(bytes: Uint8Array, at: number): number {
  const b0 = bytes[at]!;
  const b1 = bytes[at + 1]!;
  const b2 = bytes[at + 2]!;
  const b3 = bytes[at + 3]!;
  return LITTLE_ENDIAN
    ? (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0
    : ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
}

function hashWord(word: number): number {
  return Math.imul(word | 0x20202020, HASH_MUL) >>> HASH_SHIFT;
}

export class MultiPatternIndex {
  readonly patternCount: number;
  readonly maxLength: number;
  private readonly bits = new Int32Array(1 << (HASH_BITS - 5));
  private readonly heads = new Int32Array(1 << HASH_BITS).fill(-1);
  private readonly next: Int32Array;
  private readonly entryPattern: Int32Array;
  private readonly entryOffset: Int32Array;
  /** Pattern bytes, ASCII-folded where the pattern is case-insensitive. */
  private readonly bytes: Uint8Array[];
  private readonly insensitive: boolean[];
  private readonly short: number[] = [];

  constructor(patterns: readonly PatternSpec[]) {
    this.patternCount = patterns.length;
    this.bytes = patterns.map((p) => (p.caseInsensitive ? p.bytes.map((b) => FOLD[b]!) : p.bytes));
    this.insensitive = patterns.map((p) => p.caseInsensitive);
    this.maxLength = patterns.reduce((m, p) => Math.max(m, p.bytes.length), 0);
    const shared = new Map<number, number>();
    patterns.forEach((p) => {
      for (let i = 0; i + 4 <= p.bytes.length; i++) {
        const h = hashWord(wordAt(p.bytes, i));
        shared.set(h, (shared.get(h) ?? 0) + 1);
      }
    });
    const entries: Array<[number, number, number]> = [];
    patterns.forEach((p, id) => {
      if (p.bytes.length < WINDOW) {
        if (p.bytes.length > 0) this.short.push(id);
        return;
      }
      const start = this.pickWindow(p.bytes, shared);
      for (let j = 0; j < 4; j++)
        entries.push([hashWord(wordAt(p.bytes, start + j)), id, start + j]);
    });
    this.next = new Int32Array(entries.length);
    this.entryPattern = new Int32Array(entries.length);
    this.entryOffset = new Int32Array(entries.length);
    entries.forEach(([h, id, off], e) => {
      this.entryPattern[e] = id;
      this.entryOffset[e] = off;
      this.next[e] = this.heads[h]!;
      this.heads[h] = e;
      this.bits[h >>> 5] = this.bits[h >>> 5]! | (1 << (h & 31));
    });
  }

  private pickWindow(bytes: Uint8Array, shared: Map<number, number>): number {
    let best = 0;
    let bestScore = Infinity;
    for (let s = 0; s + WINDOW <= bytes.length; s++) {
      let score = 0;
      for (let k = 0; k < WINDOW; k++) score += byteCommonness(bytes[s + k]!);
      for (let j = 0; j < 4; j++)
        score += 4 * ((shared.get(hashWord(wordAt(bytes, s + j))) ?? 1) - 1);
      if (score < bestScore) {
        bestScore = score;
        best = s;
      }
    }
    return best;
  }

  /** The pattern bytes as registered (folded when case-insensitive). */
  patternLength(id: number): number {
    return this.bytes[id]!.length;
  }

  /**
   * Calls `onMatch` for every occurrence of every pattern in `hay`. Occurrences ending at or
   * before `minEnd` are skipped (streaming: they were reported with the previous chunk).
   */
  scan(hay: Uint8Array, onMatch: MatchHandler, minEnd = 0): void {
    const length = hay.length;
    const head = (4 - (hay.byteOffset & 3)) & 3;
    const wordCount = length > head ? (length - head) >>> 2 : 0;
    if (wordCount > 0) {
      const words = new Uint32Array(hay.buffer, hay.byteOffset + head, wordCount);
      const bits = this.bits;
      for (let i = 0; i < wordCount; i++) {
        const h = Math.imul(words[i]! | 0x20202020, HASH_MUL) >>> HASH_SHIFT;
        if ((bits[h >>> 5]! & (1 << (h & 31))) === 0) continue;
        this.verifyBucket(hay, h, head + (i << 2), onMatch, minEnd);
      }
    }
    for (const id of this.short) this.scanShort(hay, id, onMatch, minEnd);
  }

  private verifyBucket(
    hay: Uint8Array,
    h: number,
    at: number,
    onMatch: MatchHandler,
    minEnd: number,
  ): void {
    for (let e = this.heads[h]!; e !== -1; e = this.next[e]!) {
      const id = this.entryPattern[e]!;
      const start = at - this.entryOffset[e]!;
      const pattern = this.bytes[id]!;
      const end = start + pattern.length;
      if (start < 0 || end > hay.length || end <= minEnd) continue;
      if (this.verifyAt(hay, start, pattern, this.insensitive[id]!)) onMatch(id, start);
    }
  }

  private verifyAt(
    hay: Uint8Array,
    start: number,
    pattern: Uint8Array,
    insensitive: boolean,
  ): boolean {
    if (insensitive) {
      for (let k = 0; k < pattern.length; k++)
        if (FOLD[hay[start + k]!] !== pattern[k]) return false;
    } else {
      for (let k = 0; k < pattern.length; k++) if (hay[start + k] !== pattern[k]) return false;
    }
    return true;
  }

  private scanShort(hay: Uint8Array, id: number, onMatch: MatchHandler, minEnd: number): void {
    const pattern = this.bytes[id]!;
    const buf = Buffer.from(hay.buffer, hay.byteOffset, hay.length);
    const first = pattern[0]!;
    const insensitive = this.insensitive[id]!;
    const firsts = insensitive && first >= 0x61 && first <= 0x7a ? [first, first - 0x20] : [first];
    for (const f of firsts) {
      for (let at = buf.indexOf(f); at !== -1; at = buf.indexOf(f, at + 1)) {
        if (at + pattern.length > buf.length) break;
        if (at + pattern.length > minEnd && this.verifyAt(hay, at, pattern, insensitive))
          onMatch(id, at);
      }
    }
  }
}
