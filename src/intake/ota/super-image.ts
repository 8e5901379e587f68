import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../../errors.ts';
import { BlockImage, findOverlap } from './block-image.ts';

/**
 * `super.img` with dynamic partitions (Android 10+), read by its liblp metadata: the geometry at
 * 4 KiB, then metadata slot 0 at 12 KiB (after the reserved area and two geometry copies),
 * whose tables give each logical partition as linear extents of 512-byte sectors.
 *
 * Devices that retrofit dynamic partitions spread them over several block devices: an extent's
 * `target_source` indexes the metadata's block-device table, device 0 being super itself. The
 * other devices' images are read from files beside super.img named `super_<device>.img`, as a
 * factory package ships them; a missing one is an error naming the file it needs.
 */

const RESERVED_BYTES = 4096;
const GEOMETRY_SIZE = 4096;
const GEOMETRY_MAGIC = 0x616c4467;
const HEADER_MAGIC = 0x414c5030;
const SECTOR = 512;
const MAX_SECTORS = BigInt(Math.floor(Number.MAX_SAFE_INTEGER / SECTOR));
const PARTITION_ENTRY = 52;
const EXTENT_ENTRY = 24;
const BLOCK_DEVICE_ENTRY = 64;
const TARGET_LINEAR = 0;
const TARGET_ZERO = 1;
const MAX_METADATA_BYTES = 1024 * 1024;

export function isSuperImage(head: Buffer): boolean {
  return head.length >= RESERVED_BYTES + 4 && head.readUInt32LE(RESERVED_BYTES) === GEOMETRY_MAGIC;
}

interface Extent {
  sectors: number;
  type: number;
  /** First physical sector for a linear extent. */
  target: number;
  source: number;
}

export interface LogicalPartition {
  name: string;
  extents: Extent[];
  bytes: number;
}

function invalid(label: string, why: string): InputError {
  return new InputError('super-invalid', `${label} is not a usable super.img: ${why}`, {
    hint: 'copy the image again; a sparse super.img is accepted too',
  });
}

function sha256(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/** A struct's checksum is the sha256 of the struct with the checksum field zeroed. */
function checksumMatches(struct: Buffer, at: number): boolean {
  const copy = Buffer.from(struct);
  const expected = copy.subarray(at, at + 32);
  const stored = Buffer.from(expected);
  expected.fill(0);
  return sha256(copy).equals(stored);
}

export interface SuperMetadata {
  partitions: LogicalPartition[];
  /** Block device names by index; index 0 is super itself. */
  devices: string[];
}

export async function readSuperPartitions(
  handle: FileHandle,
  fileBytes: number,
  label: string,
): Promise<LogicalPartition[]> {
  return (await readSuperMetadata(handle, fileBytes, label)).partitions;
}

export async function readSuperMetadata(
  handle: FileHandle,
  fileBytes: number,
  label: string,
): Promise<SuperMetadata> {
  const geometry = Buffer.alloc(52);
  await handle.read(geometry, 0, 52, RESERVED_BYTES);
  if (geometry.readUInt32LE(0) !== GEOMETRY_MAGIC) throw invalid(label, 'no geometry magic');
  if (geometry.readUInt32LE(4) !== 52 || !checksumMatches(geometry, 8)) {
    throw invalid(label, 'its geometry checksum does not match');
  }
  const metadataMax = geometry.readUInt32LE(40);
  if (metadataMax < 128 || metadataMax > MAX_METADATA_BYTES) {
    throw invalid(label, `its metadata size ${metadataMax} is implausible`);
  }
  const metadataAt = RESERVED_BYTES + 2 * GEOMETRY_SIZE;
  if (metadataAt + metadataMax > fileBytes)
    throw invalid(label, 'the metadata lies past the end of the file');
  const metadata = Buffer.alloc(metadataMax);
  await handle.read(metadata, 0, metadataMax, metadataAt);
  if (metadata.readUInt32LE(0) !== HEADER_MAGIC) throw invalid(label, 'no metadata header magic');
  const major = metadata.readUInt16LE(4);
  const headerSize = metadata.readUInt32LE(8);
  if (major !== 10) throw invalid(label, `metadata version ${major} is not 10`);
  if (headerSize < 128 || headerSize > 1024 || headerSize > metadataMax)
    throw invalid(label, 'its header size is wrong');
  if (!checksumMatches(metadata.subarray(0, headerSize), 12))
    throw invalid(label, 'its metadata header checksum does not match');
  const tablesSize = metadata.readUInt32LE(44);
  if (headerSize + tablesSize > metadataMax)
    throw invalid(label, 'its tables run past the metadata');
  const tables = metadata.subarray(headerSize, headerSize + tablesSize);
  if (!sha256(tables).equals(metadata.subarray(48, 80)))
    throw invalid(label, 'its tables checksum does not match');

  const table = (at: number, entrySize: number) => {
    const offset = metadata.readUInt32LE(at);
    const count = metadata.readUInt32LE(at + 4);
    const size = metadata.readUInt32LE(at + 8);
    if (size < entrySize || offset + count * size > tables.length)
      throw invalid(label, 'a metadata table runs past the tables');
    return { offset, count, size };
  };
  const partitions = table(80, PARTITION_ENTRY);
  const extents = table(92, EXTENT_ENTRY);
  const blockDevices = table(116, BLOCK_DEVICE_ENTRY);
  const devices: string[] = [];
  for (let i = 0; i < blockDevices.count; i++) {
    const d = tables.subarray(blockDevices.offset + i * blockDevices.size);
    devices.push(d.subarray(24, 60).toString('latin1').replace(/\0.*$/s, ''));
  }
  const result: LogicalPartition[] = [];
  // liblp gives each partition its own run of extents. Runs shared between partitions would let
  // 1 MiB of tables name billions of extents (thousands of partitions, each all of them).
  let named = 0;
  for (let i = 0; i < partitions.count; i++) {
    const p = tables.subarray(partitions.offset + i * partitions.size);
    const name = p.subarray(0, 36).toString('latin1').replace(/\0.*$/s, '');
    const first = p.readUInt32LE(40);
    const count = p.readUInt32LE(44);
    if (first + count > extents.count)
      throw invalid(label, `partition ${name} names extents that do not exist`);
    named += count;
    if (named > extents.count)
      throw invalid(label, `its partitions name more extents than the ${extents.count} it holds`);
    const list: Extent[] = [];
    for (let e = first; e < first + count; e++) {
      const x = tables.subarray(extents.offset + e * extents.size);
      const sectors = x.readBigUInt64LE(0);
      const target = x.readBigUInt64LE(12);
      if (sectors > MAX_SECTORS || target > MAX_SECTORS) {
        throw invalid(label, `partition ${name} has an impossibly large extent`);
      }
      list.push({
        sectors: Number(sectors),
        type: x.readUInt32LE(8),
        target: Number(target),
        source: x.readUInt32LE(20),
      });
    }
    result.push({
      name,
      extents: list,
      bytes: list.reduce((sum, x) => sum + x.sectors * SECTOR, 0),
    });
  }
  return { partitions: result, devices };
}

/** The image file of a block device other than super (index > 0), or undefined when absent. */
export type DeviceImageLookup = (device: string) => Promise<string | undefined>;

/**
 * Writes the first non-empty partition of each group of names (e.g. system, system_a) to
 * `<outDir>/<file>`; returns the files written.
 */
export async function extractSuperPartitions(
  superPath: string,
  label: string,
  outDir: string,
  wanted: ReadonlyArray<{ names: readonly string[]; file: string }>,
  maxImageBytes: number,
  deviceImage: DeviceImageLookup = async () => undefined,
): Promise<string[]> {
  const handle = await open(superPath, 'r');
  const others = new Map<number, { handle: FileHandle; bytes: number }>();
  try {
    const { size: fileBytes } = await handle.stat();
    const { partitions, devices } = await readSuperMetadata(handle, fileBytes, label);
    const source: SourceDevices = async (index, where) => {
      if (index === 0) return { handle, bytes: fileBytes };
      const known = others.get(index);
      if (known) return known;
      const name = devices[index];
      if (name === undefined) {
        throw invalid(
          label,
          `${where} lives on block device #${index}, which its metadata does not list`,
        );
      }
      const path = await deviceImage(name);
      if (path === undefined) {
        throw new InputError(
          'super-device-missing',
          `${label}: ${where} lives partly on the block device "${name}" (#${index}), and its image super_${name}.img is not beside super.img`,
          {
            hint: `submit a zip holding super.img together with super_${name}.img (the factory package ships one image per block device)`,
          },
        );
      }
      const opened = await open(path, 'r');
      const entry = { handle: opened, bytes: (await opened.stat()).size };
      others.set(index, entry);
      return entry;
    };
    const written: string[] = [];
    for (const { names, file } of wanted) {
      const partition = names
        .map((n) => partitions.find((p) => p.name === n && p.bytes > 0))
        .find((p) => p !== undefined);
      if (!partition) continue;
      await writeLogicalPartition(source, partition, join(outDir, file), label, maxImageBytes);
      written.push(file);
    }
    return written;
  } finally {
    await handle.close();
    for (const other of others.values()) await other.handle.close();
  }
}

/** The open image of block device `index` (0: super.img itself). */
type SourceDevices = (
  index: number,
  where: string,
) => Promise<{ handle: FileHandle; bytes: number }>;

async function writeLogicalPartition(
  source: SourceDevices,
  partition: LogicalPartition,
  outFile: string,
  label: string,
  maxImageBytes: number,
): Promise<void> {
  const where = `partition ${partition.name}`;
  if (partition.bytes > maxImageBytes) {
    throw invalid(
      label,
      `${where} declares ${partition.bytes} bytes, above the limit of ${maxImageBytes}`,
    );
  }
  const linear = partition.extents.filter((x) => x.type === TARGET_LINEAR);
  for (const x of partition.extents) {
    if (x.type !== TARGET_LINEAR && x.type !== TARGET_ZERO)
      throw invalid(label, `${where} has an extent of unknown type ${x.type}`);
    if (x.type !== TARGET_LINEAR) continue;
    const device = await source(x.source, where);
    if ((x.target + x.sectors) * SECTOR > device.bytes) {
      throw invalid(
        label,
        `${where} has an extent reaching byte ${(x.target + x.sectors) * SECTOR}, past the end of the ${device.bytes}-byte ${x.source === 0 ? 'file' : `image of block device #${x.source}`}`,
      );
    }
  }
  for (const index of new Set(linear.map((x) => x.source))) {
    const onDevice = linear.filter((x) => x.source === index);
    const overlap = findOverlap(
      onDevice.map((x) => ({ start: x.target, end: x.target + x.sectors })),
    );
    if (overlap) throw invalid(label, `${where} reads sectors ${overlap[1].start}.. twice`);
  }
  await using image = await BlockImage.create(outFile, partition.bytes, SECTOR);
  let sector = 0;
  for (const x of partition.extents) {
    if (x.type === TARGET_LINEAR) {
      const device = await source(x.source, where);
      await image.copyInto(device.handle, x.target * SECTOR, x.sectors * SECTOR, [
        { start: sector, end: sector + x.sectors },
      ]);
    }
    sector += x.sectors;
  }
}
