import type { Canary } from '../canary/types.ts';
import { FOLD, excerptAround, printable } from './bytes.ts';
import { cipherMaterial, type CipherKey, type CipherOutput } from './crypto-link.ts';
import { expandCanaries, type Variant } from './variants.ts';
import { MultiPatternIndex, type PatternSpec } from './matcher.ts';
import type { InstrumentationEvent } from '../android/instrumentation-events.ts';
import { fieldNameBefore } from './decode/text.ts';

/** A cipher output as it may appear on the wire: raw, base64, URL-safe base64 or hex. */
interface LinkPattern {
  output: CipherOutput;
  full: Buffer;
  caseInsensitive: boolean;
  transforms: string[];
}

/** One canary found in one decoded layer. */
export interface Hit {
  canaryIndex: number;
  variant: Variant;
  /** Transforms from the site inward, variant encodings included. */
  chain: string[];
  offset: number;
  excerpt: string;
  matched: string;
  confidence: number;
}

/** Link prefixes longer than this are verified in full after the prefix matched. */
const LINK_PROBE = 32;

/**
 * Canaries expanded into variants and cipher outputs from the events, indexed once; searched
 * against any number of layers.
 */
export class SearchIndex {
  readonly variants: Variant[];
  readonly links: LinkPattern[];
  readonly keys: CipherKey[];
  readonly matcher: MultiPatternIndex;
  readonly warnings: string[];

  constructor(canaries: readonly Canary[], events: readonly InstrumentationEvent[]) {
    this.variants = expandCanaries(canaries);
    const material = cipherMaterial(events);
    this.keys = material.keys;
    this.warnings = [...material.warnings];
    this.links = material.outputs.flatMap((output) => {
      if (output.output.length < 8) return [];
      const b64 = output.output.toString('base64');
      return [
        { output, full: output.output, caseInsensitive: false, transforms: [] },
        {
          output,
          full: Buffer.from(b64.replace(/=+$/, '')),
          caseInsensitive: false,
          transforms: ['base64'],
        },
        {
          output,
          full: Buffer.from(output.output.toString('base64url')),
          caseInsensitive: false,
          transforms: ['base64'],
        },
        {
          output,
          full: Buffer.from(output.output.toString('hex')),
          caseInsensitive: true,
          transforms: ['hex'],
        },
      ];
    });
    const specs: PatternSpec[] = [
      ...this.variants.map((v) => ({ bytes: v.bytes, caseInsensitive: v.caseInsensitive })),
      ...this.links.map((l) => ({
        bytes: l.full.subarray(0, LINK_PROBE),
        caseInsensitive: l.caseInsensitive,
      })),
    ];
    this.matcher = new MultiPatternIndex(specs);
    canaries.forEach((c) => {
      if (Buffer.byteLength(c.value) < 7) {
        this.warnings.push(
          `canary ${c.id} ("${c.value}") is shorter than 7 bytes: matches of it may be coincidences`,
        );
      }
    });
  }

  /** Scans one layer: canary hits, and the cipher outputs seen in it (with their plaintexts). */
  scanLayer(
    bytes: Buffer,
    chain: readonly string[],
  ): {
    hits: Hit[];
    linked: Array<{ transforms: string[]; plaintext: Buffer; output: CipherOutput }>;
  } {
    const hits: Hit[] = [];
    const linked: Array<{ transforms: string[]; plaintext: Buffer; output: CipherOutput }> = [];
    const parts = new Map<number, Map<number, Hit>>();
    const innermost = looksLikeJson(bytes) ? ['json'] : [];
    const variantCount = this.variants.length;
    this.matcher.scan(bytes, (id, start) => {
      if (id >= variantCount) {
        const link = this.links[id - variantCount]!;
        if (!matchesAt(bytes, start, link.full, link.caseInsensitive)) return;
        const field = fieldNameBefore(bytes, start);
        const transforms = [...(field ? [field] : []), ...link.transforms, link.output.name];
        linked.push({ transforms, plaintext: link.output.input, output: link.output });
        return;
      }
      const variant = this.variants[id]!;
      const hit: Hit = {
        canaryIndex: variant.canaryIndex,
        variant,
        chain: [
          ...chain,
          ...variant.transforms,
          ...(variant.transforms.length === 0 ? innermost : []),
        ],
        offset: start,
        excerpt: excerptAround(bytes, start, start + variant.bytes.length),
        matched: printable(bytes.subarray(start, start + variant.bytes.length)),
        confidence: variant.confidence,
      };
      if (variant.part) {
        const group = parts.get(variant.canaryIndex) ?? new Map<number, Hit>();
        group.set(variant.part.index, hit);
        parts.set(variant.canaryIndex, group);
        if (group.size === variant.part.of) {
          const all = [...group.values()].sort((a, b) => a.offset - b.offset);
          hits.push({ ...all[0]!, matched: all.map((h) => h.matched).join(' … ') });
        }
        return;
      }
      hits.push(hit);
    });
    return { hits, linked };
  }
}

function matchesAt(hay: Buffer, start: number, needle: Buffer, caseInsensitive: boolean): boolean {
  if (start + needle.length > hay.length) return false;
  for (let i = 0; i < needle.length; i++) {
    const a = hay[start + i]!;
    const b = needle[i]!;
    if (a !== b && !(caseInsensitive && FOLD[a] === FOLD[b])) return false;
  }
  return true;
}

function looksLikeJson(bytes: Buffer): boolean {
  let i = 0;
  while (
    i < bytes.length &&
    (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)
  )
    i++;
  const first = bytes[i];
  if (first !== 0x7b && first !== 0x5b) return false;
  let j = bytes.length - 1;
  while (
    j > i &&
    (bytes[j] === 0x20 || bytes[j] === 0x0a || bytes[j] === 0x0d || bytes[j] === 0x09)
  )
    j--;
  return bytes[j] === (first === 0x7b ? 0x7d : 0x5d);
}
