import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extractPayload } from '../../src/intake/ota/payload.ts';
import { extractSuperPartitions } from '../../src/intake/ota/super-image.ts';
import { parseTransferList } from '../../src/intake/ota/transfer-list.ts';
import {
  buildPayload,
  buildPayloadV1,
  buildSuperImage,
  buildTransferList,
  OP,
} from '../fixtures/intake/container-writers.ts';
import type { FuzzTarget } from './fuzz-harness.ts';
import { ascii, type FuzzSeed } from './fuzz-mutations.ts';

/**
 * Fuzz targets for OTA containers: payload.bin and super.img extracted for real (into an output
 * directory emptied after each input), transfer lists parsed. Inputs are written to a file in
 * the scratch directory (tmpfs where there is one) that every input overwrites.
 */

const MiB = 1024 * 1024;
/** Small limits: a mutated size field must be refused, not honoured with gigabytes. */
const MAX_IMAGE_BYTES = MiB;

/**
 * Runs `fn` on the output directory, emptied afterwards whatever the parser left in it.
 * Synchronous calls: over ten thousand inputs, thread-pool round trips add up to seconds.
 */
async function withOutDir<T>(dir: string, fn: (dir: string) => Promise<T>): Promise<T> {
  try {
    return await fn(dir);
  } finally {
    for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

// ---- payload.bin ----

export async function payloadTarget(scratch: string): Promise<FuzzTarget> {
  const path = join(scratch, 'payload.bin');
  const outDir = join(scratch, 'payload-out');
  mkdirSync(outDir);
  const block = (fill: number, blocks = 1) => Buffer.alloc(512 * blocks, fill);
  const v2 = buildPayload(
    [
      {
        name: 'system',
        size: 4096,
        operations: [
          { type: OP.REPLACE, data: block(0x53, 2), dst: [{ start: 0, blocks: 2 }] },
          { type: OP.ZERO, data: Buffer.alloc(0), dst: [{ start: 2, blocks: 4 }] },
          { type: OP.REPLACE, data: block(0x54), dst: [{ start: 7, blocks: 1 }] },
        ],
      },
      {
        name: 'vendor',
        size: 1024,
        operations: [{ type: OP.REPLACE, data: block(0x56), dst: [{ start: 1, blocks: 1 }] }],
      },
    ],
    512,
  );
  const v1 = buildPayloadV1(
    {
      size: 2048,
      operations: [{ type: OP.REPLACE, data: block(0x31, 3), dst: [{ start: 1, blocks: 3 }] }],
    },
    512,
  );
  return {
    name: 'payload',
    seeds: [v2, v1].map((bytes) => ({ bytes, fields: [4, 12, 20, 24] })),
    tokens: [Buffer.from('CrAU'), Buffer.from([0x08, 0x00]), Buffer.from([0x08, 0x04])],
    parse: async (input) => {
      writeFileSync(path, input);
      return withOutDir(outDir, (out) =>
        extractPayload(path, 'payload.bin', out, ['system', 'vendor', 'boot'], {
          maxImageBytes: MAX_IMAGE_BYTES,
          timeoutMs: 1_500,
        }),
      );
    },
  };
}

// ---- super.img ----

const GEOMETRY = [4096, 8192];
const METADATA = 12288;
const COMPACT_METADATA_MAX = 4096;

function sha256(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/** Recomputes liblp's checksums (geometry copies, tables, header) wherever they can be read. */
export function repairSuper(input: Buffer): Buffer {
  const b = Buffer.from(input);
  const seal = (struct: Buffer, at: number) => {
    struct.fill(0, at, at + 32);
    sha256(struct).copy(struct, at);
  };
  for (const at of GEOMETRY) if (b.length >= at + 52) seal(b.subarray(at, at + 52), 8);
  if (b.length < METADATA + 128) return b;
  const headerSize = b.readUInt32LE(METADATA + 8);
  const tablesSize = b.readUInt32LE(METADATA + 44);
  if (headerSize < 128 || headerSize > 1024 || METADATA + headerSize > b.length) return b;
  const tables = METADATA + headerSize;
  if (tables + tablesSize <= b.length)
    sha256(b.subarray(tables, tables + tablesSize)).copy(b, METADATA + 48);
  seal(b.subarray(METADATA, tables), 12);
  return b;
}

/**
 * The writer's super.img with its metadata area cut to 4 KiB and the partitions moved up behind
 * it: the same tables in a 20 KiB file instead of a 1 MiB one, so ten thousand inputs stay cheap.
 */
function compactSuper(image: Buffer): FuzzSeed {
  const dataStart = METADATA + COMPACT_METADATA_MAX;
  const shift = BigInt((MiB - dataStart) / 512);
  const headerSize = image.readUInt32LE(METADATA + 8);
  const tablesEnd = METADATA + headerSize + image.readUInt32LE(METADATA + 44);
  const out = Buffer.concat([image.subarray(0, dataStart), image.subarray(MiB)]);
  out.fill(0, tablesEnd, dataStart);
  for (const at of GEOMETRY) out.writeUInt32LE(COMPACT_METADATA_MAX, at + 40);
  const tables = METADATA + headerSize;
  const table = (descriptor: number) => ({
    offset: tables + out.readUInt32LE(METADATA + descriptor),
    count: out.readUInt32LE(METADATA + descriptor + 4),
    size: out.readUInt32LE(METADATA + descriptor + 8),
  });
  const partitions = table(80);
  const extents = table(92);
  const fields = [4, 40, 44].map((f) => GEOMETRY[0]! + f);
  fields.push(...[4, 8, 44, 80, 84, 88, 92, 96, 100, 104, 116, 120].map((f) => METADATA + f));
  for (let i = 0; i < partitions.count; i++) {
    const at = partitions.offset + i * partitions.size;
    fields.push(at + 40, at + 44);
  }
  for (let i = 0; i < extents.count; i++) {
    const at = extents.offset + i * extents.size;
    fields.push(at, at + 8, at + 12, at + 20);
    if (out.readUInt32LE(at + 20) === 0)
      out.writeBigUInt64LE(out.readBigUInt64LE(at + 12) - shift, at + 12);
  }
  return { bytes: repairSuper(out), fields };
}

export async function superTarget(scratch: string): Promise<FuzzTarget> {
  const path = join(scratch, 'super.img');
  const outDir = join(scratch, 'super-out');
  mkdirSync(outDir);
  const devicePath = join(scratch, 'super_system_dev.img');
  await writeFile(devicePath, Buffer.alloc(8192, 0x44));
  const plain = buildSuperImage([
    { name: 'system_a', image: Buffer.alloc(4096, 0x53) },
    { name: 'vendor_a', image: Buffer.alloc(1024, 0x56) },
    { name: 'product_a', image: undefined },
  ]);
  const retrofit = buildSuperImage(
    [
      {
        name: 'system',
        image: undefined,
        extents: [
          { sectors: 4n, target: 0n, source: 1 },
          { sectors: 4n, target: BigInt(MiB / 512), source: 0 },
        ],
      },
    ],
    ['system_dev'],
  );
  // The retrofit image's own extent needs data behind the tables: four sectors of it.
  const retrofitWithData = Buffer.concat([retrofit, Buffer.alloc(2048, 0x52)]);
  return {
    name: 'super',
    seeds: [compactSuper(plain), compactSuper(retrofitWithData)],
    repair: repairSuper,
    parse: async (input) => {
      writeFileSync(path, input);
      return withOutDir(outDir, (out) =>
        extractSuperPartitions(
          path,
          'super.img',
          out,
          [
            { names: ['system', 'system_a'], file: 'system.img' },
            { names: ['vendor', 'vendor_a'], file: 'vendor.img' },
          ],
          MAX_IMAGE_BYTES,
          async (device) => (device === 'system_dev' ? devicePath : undefined),
        ),
      );
    },
  };
}

// ---- transfer list ----

export async function transferListTarget(): Promise<FuzzTarget> {
  const image = Buffer.alloc(8 * 4096);
  image.fill(1, 0, 4096);
  image.fill(2, 5 * 4096, 7 * 4096);
  const text = (t: string): FuzzSeed => ({ bytes: Buffer.from(t, 'utf8') });
  return {
    name: 'transfer-list',
    seeds: [
      text(buildTransferList(image).list),
      text('1\n8\nnew 2,0,8\n'),
      text('3\n6\n0\n0\nerase 2,0,10\nnew 4,0,2,4,6\nzero 2,2,4\n'),
    ],
    tokens: ascii(
      '\n',
      ' ',
      ',',
      '\r\n',
      'new ',
      'zero ',
      'erase ',
      'move ',
      'stash ',
      '2,0,1',
      '999999999999999',
      '9007199254740993',
      '18446744073709551616',
      '-1',
      '1e3',
    ),
    parse: async (input) =>
      parseTransferList(input.toString('utf8'), 'system.transfer.list', 64 * MiB),
  };
}
