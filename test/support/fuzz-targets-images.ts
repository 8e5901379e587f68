import { writeFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { assertExt4 } from '../../src/android/ext4.ts';
import { assertErofs } from '../../src/android/partition/erofs.ts';
import { partitionFilesystem } from '../../src/android/partition/reader.ts';
import { openZipChecked, readEntryBytes, type ZipLimits } from '../../src/android/zip-safe.ts';
import { checkSparseImage, SPARSE_MAGIC } from '../../src/intake/sparse.ts';
import { makeExt4, makeZip } from '../fixtures/intake/inputs.ts';
import type { FuzzTarget } from './fuzz-harness.ts';
import { ascii, type FuzzSeed } from './fuzz-mutations.ts';

/**
 * Fuzz targets for the images intake is handed: sparse images, ext4 and erofs superblocks, zips.
 * Each parser runs behind its real entry point, on a file in the scratch directory (tmpfs where
 * there is one) that every input overwrites.
 */

const MiB = 1024 * 1024;

// ---- sparse ----

type SparseChunk = { raw: Buffer } | { fill: number; blocks: number } | { skip: number } | 'crc';

/** A libsparse image, written field by field from the format's header and chunk headers. */
function sparseImage(blockSize: number, chunks: readonly SparseChunk[]): FuzzSeed {
  const fields = [4, 8, 10, 12, 16, 20];
  const parts: Buffer[] = [];
  let blocks = 0;
  let at = 28;
  for (const chunk of chunks) {
    const head = Buffer.alloc(12);
    let data: Buffer;
    if (chunk === 'crc') {
      head.writeUInt16LE(0xcac4, 0);
      data = Buffer.alloc(4);
    } else if ('raw' in chunk) {
      head.writeUInt16LE(0xcac1, 0);
      head.writeUInt32LE(chunk.raw.length / blockSize, 4);
      data = chunk.raw;
    } else if ('fill' in chunk) {
      head.writeUInt16LE(0xcac2, 0);
      head.writeUInt32LE(chunk.blocks, 4);
      data = Buffer.alloc(4);
      data.writeUInt32LE(chunk.fill);
    } else {
      head.writeUInt16LE(0xcac3, 0);
      head.writeUInt32LE(chunk.skip, 4);
      data = Buffer.alloc(0);
    }
    head.writeUInt32LE(12 + data.length, 8);
    blocks += chunk === 'crc' ? 0 : head.readUInt32LE(4);
    fields.push(at, at + 4, at + 8);
    parts.push(head, data);
    at += 12 + data.length;
  }
  const header = Buffer.alloc(28);
  header.writeUInt32LE(SPARSE_MAGIC, 0);
  header.writeUInt16LE(1, 4);
  header.writeUInt16LE(28, 8);
  header.writeUInt16LE(12, 10);
  header.writeUInt32LE(blockSize, 12);
  header.writeUInt32LE(blocks, 16);
  header.writeUInt32LE(chunks.length, 20);
  return { bytes: Buffer.concat([header, ...parts]), fields };
}

export async function sparseTarget(scratch: string): Promise<FuzzTarget> {
  const path = join(scratch, 'system.sparse.img');
  return {
    name: 'sparse',
    seeds: [
      sparseImage(512, [
        { raw: Buffer.alloc(1024, 0x5a) },
        { fill: 0xdeadbeef, blocks: 3 },
        { skip: 4 },
        'crc',
        { raw: Buffer.alloc(512, 0xa5) },
      ]),
      sparseImage(4096, [{ skip: 1 }, { raw: Buffer.alloc(4096, 1) }]),
    ],
    tokens: [Buffer.from([0x3a, 0xff, 0x26, 0xed]), ...[0xcac1, 0xcac2, 0xcac3, 0xcac4].map(u16)],
    parse: async (input) => {
      writeFileSync(path, input);
      return checkSparseImage(path, 'system.sparse.img', 64 * MiB);
    },
  };
}

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return b;
}

// ---- ext4 and erofs superblocks ----

/** openPartition's checks (filesystem from the superblock, the whole image there), no tool run. */
async function checkPartitionImage(path: string, size: number, label: string) {
  const filesystem = await partitionFilesystem(path);
  if (filesystem === 'ext4') await assertExt4(path, size, label);
  if (filesystem === 'erofs') await assertErofs(path, size, label);
  return filesystem ?? 'neither';
}

export async function ext4Target(scratch: string): Promise<FuzzTarget> {
  const image = await makeExt4(scratch, 'made.ext4', { 'build.prop': 'ro.build.id=FUZZ\n' }, 2);
  const made = await readFile(image);
  await rm(image);
  // The superblock is all the check reads: the seed is the image's first 4 KiB, and the size
  // handed to the check is the whole image's.
  const head = made.subarray(0, 4096);
  const wide = Buffer.from(head);
  wide.writeUInt32LE(wide.readUInt32LE(1024 + 96) | 0x80, 1024 + 96); // 64bit: blocks_count_hi
  const path = join(scratch, 'system.ext4');
  return {
    name: 'ext4',
    seeds: [head, wide].map((bytes) => ({
      bytes,
      fields: [0, 4, 24, 56, 96, 0x150].map((f) => 1024 + f),
    })),
    tokens: [u16(0xef53)],
    parse: async (input) => {
      writeFileSync(path, input);
      return checkPartitionImage(path, made.length, 'system.img');
    },
  };
}

export async function erofsTarget(scratch: string): Promise<FuzzTarget> {
  const tree = join(scratch, 'erofs-tree');
  await mkdir(join(tree, 'etc'), { recursive: true });
  await writeFile(join(tree, 'build.prop'), 'ro.build.id=FUZZ\n');
  await writeFile(join(tree, 'etc', 'hosts'), '127.0.0.1 localhost\n'.repeat(50));
  const image = join(scratch, 'made.erofs');
  await execa('mkfs.erofs', [image, tree], { timeout: 30_000 });
  const bytes = await readFile(image);
  await rm(tree, { recursive: true });
  await rm(image);
  const path = join(scratch, 'system.erofs');
  return {
    name: 'erofs',
    seeds: [{ bytes, fields: [0, 12, 14, 16, 36, 40, 44, 80].map((f) => 1024 + f) }],
    tokens: [Buffer.from([0xe2, 0xe1, 0xf5, 0xe0])],
    parse: async (input) => {
      writeFileSync(path, input);
      return checkPartitionImage(path, bytes.length, 'system.img');
    },
  };
}

// ---- zip ----

/** Offsets of the size, count and offset fields of every zip record in `zip`. */
function zipFields(zip: Buffer): number[] {
  const fields: number[] = [];
  const records: Record<number, number[]> = {
    0x04034b50: [6, 8, 14, 18, 22, 26, 28],
    0x02014b50: [8, 10, 16, 20, 24, 28, 30, 32, 38, 42],
    0x06054b50: [8, 10, 12, 16, 20],
  };
  for (let at = 0; at + 4 <= zip.length; at++) {
    for (const offset of records[zip.readUInt32LE(at)] ?? []) fields.push(at + offset);
  }
  return fields;
}

const ZIP_LIMITS: ZipLimits = {
  maxTotalBytes: 64 * MiB,
  maxEntries: 100,
  maxRatio: 500,
  ratioMinBytes: MiB,
};

export async function zipTarget(scratch: string): Promise<FuzzTarget> {
  const path = join(scratch, 'image.zip');
  const made = join(scratch, 'made.zip');
  const zips: Buffer[] = [];
  for (const entries of [
    [
      { name: 'system.img', data: Buffer.alloc(2048, 0x53) },
      {
        name: 'META-INF/com/android/metadata',
        data: Buffer.from('ota-type=AB\n'),
        compress: false,
      },
      { name: 'build.prop', data: Buffer.from('ro.build.id=FUZZ\n'.repeat(20)), mode: 0o100644 },
    ],
    [{ name: 'payload.bin', data: Buffer.from('CrAU stored, not deflated'), compress: false }],
  ]) {
    zips.push(await readFile(await makeZip(made, entries)));
  }
  await rm(made);
  return {
    name: 'zip',
    seeds: zips.map((bytes) => ({ bytes, fields: zipFields(bytes) })),
    tokens: ascii('PK\x03\x04', 'PK\x01\x02', 'PK\x05\x06', 'PK\x06\x06', 'PK\x06\x07', '../', '/'),
    parse: async (input) => {
      writeFileSync(path, input);
      await using zip = await openZipChecked(path, 'image.zip', ZIP_LIMITS);
      const sizes: number[] = [];
      for (const entry of zip.entries) {
        if (!entry.isDirectory)
          sizes.push((await readEntryBytes(zip, entry, MiB, 'image.zip')).length);
      }
      return sizes;
    },
  };
}
