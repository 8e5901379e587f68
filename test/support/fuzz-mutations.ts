import fc from 'fast-check';

/**
 * Mutations of a valid input, as plain data: fast-check generates and shrinks the list, and the
 * same list applied to the same seed always gives the same bytes. The kinds are the ones that
 * break binary parsers in practice: flipped bits, length and count fields set to their boundary
 * values, cut files, inserted or repeated bytes, and a format's own tokens in the wrong place.
 */

/** Where a mutation lands: any byte, or one of the seed's known length/count fields. */
export interface Position {
  field: boolean;
  n: number;
}

export type Mutation =
  | { kind: 'flip'; at: Position; bit: number }
  | { kind: 'byte'; at: Position; value: number }
  | { kind: 'int'; at: Position; width: 1 | 2 | 4 | 8; le: boolean; value: bigint }
  | { kind: 'truncate'; at: Position }
  | { kind: 'delete'; at: Position; length: number }
  | { kind: 'insert'; at: Position; bytes: Uint8Array }
  | { kind: 'repeat'; at: Position; length: number; times: number }
  | { kind: 'copy'; at: Position; from: Position; length: number }
  | { kind: 'token'; at: Position; token: number; overwrite: boolean }
  | { kind: 'json'; node: number; value: unknown };

/** A valid input the mutations start from. */
export interface FuzzSeed {
  bytes: Buffer;
  /** Offsets of length, count and offset fields: boundary values there reach the checks. */
  fields?: readonly number[];
}

export interface FuzzCase {
  seed: number;
  mutations: Mutation[];
  /** Run the target's repair (checksums made to match) after the mutations. */
  repair: boolean;
}

/** What a target's inputs look like beyond plain bytes. */
export interface MutationProfile {
  /** Byte strings worth inserting: magic numbers, separators, numbers as text. */
  tokens?: readonly Buffer[];
  /** The input is JSON: values deep in the document are replaced, not only bytes. */
  json?: boolean;
}

/** Tokens written as text (latin1: one byte per character, `\x..` escapes as they are). */
export function ascii(...tokens: string[]): Buffer[] {
  return tokens.map((t) => Buffer.from(t, 'latin1'));
}

/**
 * Integers that sit on the edges parsers get wrong: zero, the sizes of small headers (a length
 * that cuts a structure short), sign bits, all ones, 2^53.
 */
const BOUNDARIES = [
  0n,
  1n,
  2n,
  4n,
  8n,
  12n,
  16n,
  20n,
  24n,
  28n,
  32n,
  0x7fn,
  0x80n,
  0xffn,
  0x100n,
  0x7fffn,
  0x8000n,
  0xffffn,
  0x10000n,
  0x7fffffffn,
  0x80000000n,
  0xfffffffen,
  0xffffffffn,
  0x100000000n,
  2n ** 53n,
  2n ** 63n,
  2n ** 64n - 1n,
];

/** JSON values that break code trusting a schema: lone surrogates, huge numbers, wrong types. */
const JSON_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  -0,
  '',
  '\ud800',
  'a\udfffb',
  '\u0000',
  '%',
  'http://',
  'https://[::1',
  '1970-01-01T00:00:00Z',
  'base64',
  '!!!',
  [],
  {},
  [[[[[[[[[[]]]]]]]]]],
  { name: '\ud800', value: '\udc00' },
  'x'.repeat(4096),
];

const MAX_GROWTH = 64 * 1024;

function position(): fc.Arbitrary<Position> {
  return fc.record({ field: fc.boolean(), n: fc.nat() });
}

function mutation(profile: MutationProfile): fc.Arbitrary<Mutation> {
  const at = position();
  const tokens = profile.tokens ?? [];
  const kinds: Array<fc.WeightedArbitrary<Mutation>> = [
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('flip'), at, bit: fc.nat(7) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('byte'),
        at,
        value: fc.oneof(fc.constantFrom(0, 1, 0x7f, 0x80, 0xff), fc.nat(255)),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('int'),
        at,
        width: fc.constantFrom<1 | 2 | 4 | 8>(1, 2, 4, 8),
        le: fc.boolean(),
        value: fc.oneof(fc.constantFrom(...BOUNDARIES), fc.bigInt(0n, 2n ** 64n - 1n)),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate'), at }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('delete'),
        at,
        length: fc.integer({ min: 1, max: 64 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('insert'),
        at,
        bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('repeat'),
        at,
        length: fc.integer({ min: 1, max: 256 }),
        times: fc.integer({ min: 1, max: 16 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('copy'),
        at,
        from: position(),
        length: fc.integer({ min: 1, max: 64 }),
      }),
    },
  ];
  if (tokens.length > 0) {
    kinds.push({
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('token'),
        at,
        token: fc.nat(tokens.length - 1),
        overwrite: fc.boolean(),
      }),
    });
  }
  if (profile.json) {
    kinds.push({
      weight: 8,
      arbitrary: fc.record({
        kind: fc.constant('json'),
        node: fc.nat(),
        value: fc.oneof(fc.constantFrom(...JSON_VALUES), fc.jsonValue({ maxDepth: 2 })),
      }),
    });
  }
  return fc.oneof(...kinds);
}

/** Cases over `seeds`: one seed and one to eight mutations applied in order. */
export function fuzzCases(
  seeds: readonly FuzzSeed[],
  profile: MutationProfile,
): fc.Arbitrary<FuzzCase> {
  return fc.record({
    seed: fc.nat(seeds.length - 1),
    mutations: fc.array(mutation(profile), { minLength: 1, maxLength: 8 }),
    repair: fc.boolean(),
  });
}

function resolve(at: Position, bytes: Buffer, fields: readonly number[]): number {
  if (at.field && fields.length > 0) return Math.min(fields[at.n % fields.length]!, bytes.length);
  return at.n % (bytes.length + 1);
}

function writeInt(bytes: Buffer, at: number, width: number, le: boolean, value: bigint): void {
  for (let i = 0; i < width && at + i < bytes.length; i++) {
    const byte = Number((value >> BigInt(8 * i)) & 0xffn);
    bytes[le ? at + i : at + width - 1 - i] = byte;
  }
}

/** The n-th value of a JSON document (depth first) replaced by `value`; undefined: not JSON. */
function replaceJsonNode(text: string, node: number, value: unknown): string | undefined {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return undefined;
  }
  const slots: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        slots.push({ parent: v, key: i });
        walk(item);
      });
    } else if (v !== null && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) {
        slots.push({ parent: v as Record<string, unknown>, key: k });
        walk(item);
      }
    }
  };
  walk(document);
  const slot = slots[node % Math.max(1, slots.length)];
  if (!slot) return JSON.stringify(value);
  (slot.parent as Record<string | number, unknown>)[slot.key] = value;
  return JSON.stringify(document);
}

/** The bytes of a case: its seed with every mutation applied. Deterministic. */
export function applyCase(
  seeds: readonly FuzzSeed[],
  profile: MutationProfile,
  c: FuzzCase,
): Buffer {
  const seed = seeds[c.seed % seeds.length]!;
  const fields = seed.fields ?? [];
  const limit = seed.bytes.length + MAX_GROWTH;
  let bytes = Buffer.from(seed.bytes);
  for (const m of c.mutations) {
    if (m.kind === 'json') {
      const text = replaceJsonNode(bytes.toString('utf8'), m.node, m.value);
      if (text !== undefined) bytes = Buffer.from(text, 'utf8');
      continue;
    }
    const at = resolve(m.at, bytes, fields);
    switch (m.kind) {
      case 'flip':
        if (at < bytes.length) bytes[at] = bytes[at]! ^ (1 << m.bit);
        break;
      case 'byte':
        if (at < bytes.length) bytes[at] = m.value;
        break;
      case 'int':
        writeInt(bytes, at, m.width, m.le, m.value);
        break;
      case 'truncate':
        bytes = bytes.subarray(0, at);
        break;
      case 'delete':
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
        break;
      case 'insert':
        bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
        break;
      case 'repeat': {
        const slice = bytes.subarray(at, at + m.length);
        const copies = Array<Buffer>(m.times).fill(slice);
        bytes = Buffer.concat([bytes.subarray(0, at), ...copies, bytes.subarray(at)]);
        break;
      }
      case 'copy': {
        const from = resolve(m.from, bytes, fields);
        bytes.copy(bytes, at, from, from + m.length);
        break;
      }
      case 'token': {
        const token = profile.tokens?.[m.token % profile.tokens.length] ?? Buffer.alloc(0);
        const rest = bytes.subarray(m.overwrite ? at + token.length : at);
        bytes = Buffer.concat([bytes.subarray(0, at), token, rest]);
        break;
      }
    }
    if (bytes.length > limit) bytes = bytes.subarray(0, limit);
  }
  return bytes;
}
