import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, isCanarytrapError } from '../../errors.ts';
import { runToolBytes } from '../../android/tools.ts';
import { BlockImage, findOverlap, type BlockSpan } from './block-image.ts';
import { ProtoError, protoMessages, protoUint, readProtoFields } from './protobuf.ts';

/**
 * A/B OTA payloads (payload.bin, "CrAU" format versions 1 and 2). Only full-replace operations
 * are applied: a full OTA or factory payload carries whole partitions; a delta payload needs the
 * previous build's partitions and is refused with `payload-delta-unsupported`.
 *
 * Version 1 (the first A/B payloads) has no metadata-signature size in its header and, in its
 * manifest, the root filesystem's operations at the top (install_operations, new_rootfs_info)
 * instead of per-partition updates: intake reads that root filesystem as `system`, and the
 * kernel operations as `boot`.
 */

export const PAYLOAD_MAGIC = Buffer.from('CrAU', 'latin1');
const HEADER_BYTES = 4 + 8 + 8 + 4;
const V1_HEADER_BYTES = 4 + 8 + 8;
/** Real manifests are tens of KiB to a few MiB; this bounds what is read into memory. */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
const MAX_SIGNATURE_BYTES = 1024 * 1024;
/** One compressed operation is decompressed in memory (real ones write 2 MiB). */
const MAX_OPERATION_BYTES = 256 * 1024 * 1024;

const OPERATION_NAMES: Record<number, string> = {
  0: 'REPLACE',
  1: 'REPLACE_BZ',
  2: 'MOVE',
  3: 'BSDIFF',
  4: 'SOURCE_COPY',
  5: 'SOURCE_BSDIFF',
  6: 'ZERO',
  7: 'DISCARD',
  8: 'REPLACE_XZ',
  9: 'PUFFDIFF',
  10: 'BROTLI_BSDIFF',
  11: 'ZUCCHINI',
  12: 'LZ4DIFF_BSDIFF',
  13: 'LZ4DIFF_PUFFDIFF',
};
const APPLIED = new Set([0, 1, 6, 7, 8]);

interface Operation {
  type: number;
  dataOffset: number;
  dataLength: number;
  dst: BlockSpan[];
}

interface PartitionUpdate {
  name: string;
  /** new_partition_info.size; undefined when the manifest omits it. */
  size: number | undefined;
  operations: Operation[];
}

export interface PayloadManifest {
  blockSize: number;
  /** Absolute offset of the data blobs (operations' data_offset counts from here). */
  dataStart: number;
  partitions: PartitionUpdate[];
}

export interface PayloadOptions {
  maxImageBytes: number;
  timeoutMs: number;
}

function invalid(label: string, why: string): InputError {
  return new InputError('payload-invalid', `${label} is not a usable payload.bin: ${why}`, {
    hint: 'copy the OTA again; a full OTA or factory image zip holds a complete payload.bin',
  });
}

/** A number from the manifest that must fit a JavaScript number exactly. */
function safe(value: bigint | undefined, label: string, what: string): number {
  const v = value ?? 0n;
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(label, `${what} ${v} is impossibly large`);
  return Number(v);
}

export async function readPayloadManifest(
  handle: FileHandle,
  fileBytes: number,
  label: string,
): Promise<PayloadManifest> {
  const header = Buffer.alloc(HEADER_BYTES);
  const { bytesRead } = await handle.read(header, 0, HEADER_BYTES, 0);
  if (bytesRead < V1_HEADER_BYTES) throw invalid(label, 'the header is cut short');
  if (!header.subarray(0, 4).equals(PAYLOAD_MAGIC)) throw invalid(label, 'wrong magic');
  const version = header.readBigUInt64BE(4);
  if (version !== 1n && version !== 2n) {
    throw invalid(label, `format version ${version} is neither 1 nor 2`);
  }
  if (version === 2n && bytesRead < HEADER_BYTES) throw invalid(label, 'the header is cut short');
  const headerBytes = version === 1n ? V1_HEADER_BYTES : HEADER_BYTES;
  const manifestBytes = header.readBigUInt64BE(12);
  const signatureBytes = version === 1n ? 0 : header.readUInt32BE(20);
  if (manifestBytes > BigInt(MAX_MANIFEST_BYTES)) {
    throw invalid(
      label,
      `its manifest declares ${manifestBytes} bytes (limit ${MAX_MANIFEST_BYTES})`,
    );
  }
  if (signatureBytes > MAX_SIGNATURE_BYTES) {
    throw invalid(label, `its metadata signature declares ${signatureBytes} bytes`);
  }
  const dataStart = headerBytes + Number(manifestBytes) + signatureBytes;
  if (dataStart > fileBytes) throw invalid(label, 'the manifest runs past the end of the file');
  const manifest = Buffer.alloc(Number(manifestBytes));
  await handle.read(manifest, 0, manifest.length, headerBytes);
  try {
    return parseManifest(manifest, dataStart, label, version === 1n);
  } catch (error) {
    if (error instanceof ProtoError)
      throw invalid(label, `the manifest is damaged: ${error.message}`);
    throw error;
  }
}

function parseManifest(
  bytes: Buffer,
  dataStart: number,
  label: string,
  version1: boolean,
): PayloadManifest {
  const fields = readProtoFields(bytes);
  const blockSize = safe(protoUint(fields, 3) ?? 4096n, label, 'block size');
  if (blockSize < 512 || blockSize > 1024 * 1024 || (blockSize & (blockSize - 1)) !== 0) {
    throw invalid(label, `block size ${blockSize} is not a power of two between 512 and 1 MiB`);
  }
  const sizeOf = (info: Buffer | undefined) =>
    info ? safe(protoUint(readProtoFields(info), 1), label, 'partition size') : undefined;
  const operationsOf = (messages: Buffer[]) =>
    messages.map((op): Operation => {
      const o = readProtoFields(op);
      return {
        type: safe(protoUint(o, 1), label, 'operation type'),
        dataOffset: safe(protoUint(o, 2), label, 'data offset'),
        dataLength: safe(protoUint(o, 3), label, 'data length'),
        dst: protoMessages(o, 6).map((extent) => {
          const e = readProtoFields(extent);
          const start = safe(protoUint(e, 1), label, 'extent start');
          return { start, end: start + safe(protoUint(e, 2), label, 'extent length') };
        }),
      };
    });
  const partitions = protoMessages(fields, 13).map((message): PartitionUpdate => {
    const p = readProtoFields(message);
    return {
      name: protoMessages(p, 1)[0]?.toString('utf8') ?? '',
      size: sizeOf(protoMessages(p, 7)[0]),
      operations: operationsOf(protoMessages(p, 8)),
    };
  });
  if (version1 && partitions.length === 0) {
    // install_operations (1) rebuild the root filesystem, new_rootfs_info (9) its size;
    // kernel_install_operations (2) and new_kernel_info (7) the kernel partition.
    const rootfs = protoMessages(fields, 1);
    if (rootfs.length > 0) {
      partitions.push({
        name: 'system',
        size: sizeOf(protoMessages(fields, 9)[0]),
        operations: operationsOf(rootfs),
      });
    }
    const kernel = protoMessages(fields, 2);
    if (kernel.length > 0) {
      partitions.push({
        name: 'boot',
        size: sizeOf(protoMessages(fields, 7)[0]),
        operations: operationsOf(kernel),
      });
    }
  }
  return { blockSize, dataStart, partitions };
}

/**
 * Writes each wanted partition present in the payload to `<outDir>/<name>.img`; returns the
 * names written. Every operation is checked before the first byte is written.
 */
export async function extractPayload(
  payloadPath: string,
  label: string,
  outDir: string,
  wanted: readonly string[],
  options: PayloadOptions,
): Promise<string[]> {
  const handle = await open(payloadPath, 'r');
  try {
    const { size: fileBytes } = await handle.stat();
    const manifest = await readPayloadManifest(handle, fileBytes, label);
    const written: string[] = [];
    for (const name of wanted) {
      const partition = manifest.partitions.find((p) => p.name === name);
      if (!partition) continue;
      const bytes = checkPartition(partition, manifest, fileBytes, label, options.maxImageBytes);
      await writePartition(
        handle,
        partition,
        manifest,
        join(outDir, `${name}.img`),
        bytes,
        label,
        options,
      );
      written.push(name);
    }
    return written;
  } finally {
    await handle.close();
  }
}

function checkPartition(
  partition: PartitionUpdate,
  manifest: PayloadManifest,
  fileBytes: number,
  label: string,
  maxImageBytes: number,
): number {
  const where = `${label}, partition ${partition.name}`;
  const { blockSize } = manifest;
  const delta = partition.operations.find((op) => !APPLIED.has(op.type));
  if (delta) {
    throw new InputError(
      'payload-delta-unsupported',
      `${where} uses ${OPERATION_NAMES[delta.type] ?? `operation ${delta.type}`}: this is an incremental OTA, which needs the previous build to apply`,
      { hint: 'submit a full OTA or the factory image of the build instead' },
    );
  }
  const blocks = partition.operations
    .flatMap((op) => op.dst)
    .reduce((m, s) => Math.max(m, s.end), 0);
  const bytes = partition.size ?? blocks * blockSize;
  if (bytes > maxImageBytes) {
    throw invalid(
      label,
      `partition ${partition.name} declares ${bytes} bytes, above the limit of ${maxImageBytes}`,
    );
  }
  if (blocks * blockSize > Math.ceil(bytes / blockSize) * blockSize) {
    throw invalid(
      label,
      `partition ${partition.name} writes block ${blocks - 1}, past its size of ${bytes} bytes`,
    );
  }
  const spans = partition.operations.flatMap((op) => op.dst);
  if (spans.some((s) => s.end <= s.start))
    throw invalid(label, `${partition.name} has an empty extent`);
  const overlap = findOverlap(spans);
  if (overlap) {
    throw invalid(
      label,
      `partition ${partition.name} writes blocks ${overlap[1].start}..${overlap[0].end - 1} twice`,
    );
  }
  const dataBytes = fileBytes - manifest.dataStart;
  for (const op of partition.operations) {
    if (op.dataOffset + op.dataLength > dataBytes) {
      throw invalid(label, `an operation of ${partition.name} reads data past the end of the file`);
    }
    const room = op.dst.reduce((sum, s) => sum + (s.end - s.start), 0) * blockSize;
    if (op.type === 0 && op.dataLength > room) {
      throw invalid(
        label,
        `a REPLACE of ${partition.name} carries more data than its extents hold`,
      );
    }
    if ((op.type === 1 || op.type === 8) && room > MAX_OPERATION_BYTES) {
      throw invalid(label, `a compressed operation of ${partition.name} expands to ${room} bytes`);
    }
  }
  return bytes;
}

async function writePartition(
  handle: FileHandle,
  partition: PartitionUpdate,
  manifest: PayloadManifest,
  outFile: string,
  bytes: number,
  label: string,
  options: PayloadOptions,
): Promise<void> {
  await using image = await BlockImage.create(outFile, bytes, manifest.blockSize);
  for (const op of partition.operations) {
    const from = manifest.dataStart + op.dataOffset;
    // ZERO and DISCARD: the fresh file already reads as zeros there.
    if (op.type === 0) await image.copyInto(handle, from, op.dataLength, op.dst);
    if (op.type === 1 || op.type === 8) {
      const data = Buffer.alloc(op.dataLength);
      await handle.read(data, 0, op.dataLength, from);
      const room = op.dst.reduce((sum, s) => sum + (s.end - s.start), 0) * manifest.blockSize;
      const plain = await decompress(
        op.type === 8 ? 'xz' : 'bzip2',
        data,
        room,
        label,
        options.timeoutMs,
      );
      await image.writeSpans(plain, op.dst);
    }
  }
}

async function decompress(
  tool: 'xz' | 'bzip2',
  data: Buffer,
  maxBytes: number,
  label: string,
  timeoutMs: number,
): Promise<Buffer> {
  let result;
  try {
    result = await runToolBytes(tool, ['-dc'], {
      input: data,
      maxBytes,
      timeoutMs,
      allowFailure: true,
    });
  } catch (error) {
    if (isCanarytrapError(error) && error.code === 'tool-output-too-large') {
      throw invalid(label, `a ${tool} operation expands past its extents`);
    }
    throw error;
  }
  if (result.exitCode !== 0) throw invalid(label, `a ${tool} operation does not decompress`);
  return result.stdout;
}
