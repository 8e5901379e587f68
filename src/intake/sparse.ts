import { open } from 'node:fs/promises';
import { InputError } from '../errors.ts';
import { runTool } from '../android/tools.ts';

/**
 * Android sparse images (libsparse format). The header and every chunk header are checked
 * before simg2img runs, so an image that lies about its sizes is rejected in milliseconds
 * instead of making simg2img write terabytes.
 */

export const SPARSE_MAGIC = 0xed26ff3a;
const CHUNK_RAW = 0xcac1;
const CHUNK_FILL = 0xcac2;
const CHUNK_DONT_CARE = 0xcac3;
const CHUNK_CRC32 = 0xcac4;

export interface SparseSummary {
  blockSize: number;
  totalBlocks: number;
  chunks: number;
  /** Size of the raw image simg2img will write. */
  outputBytes: number;
}

export async function checkSparseImage(
  path: string,
  label: string,
  maxOutputBytes: number,
): Promise<SparseSummary> {
  const invalid = (why: string) =>
    new InputError('sparse-invalid', `${label} is a damaged sparse image: ${why}`, {
      hint: 'copy the image again, or convert it with simg2img yourself and submit the raw image',
    });
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const header = Buffer.alloc(28);
    if ((await handle.read(header, 0, 28, 0)).bytesRead < 28)
      throw invalid('the header is cut short');
    const major = header.readUInt16LE(4);
    const fileHeaderSize = header.readUInt16LE(8);
    const chunkHeaderSize = header.readUInt16LE(10);
    const blockSize = header.readUInt32LE(12);
    const totalBlocks = header.readUInt32LE(16);
    const totalChunks = header.readUInt32LE(20);
    if (header.readUInt32LE(0) !== SPARSE_MAGIC) throw invalid('wrong magic');
    if (major !== 1) throw invalid(`format version ${major} is unknown`);
    if (fileHeaderSize < 28 || chunkHeaderSize < 12) throw invalid('header sizes are too small');
    if (blockSize === 0 || blockSize % 4 !== 0)
      throw invalid(`block size ${blockSize} is not a multiple of 4`);
    const outputBytes = totalBlocks * blockSize;
    if (outputBytes > maxOutputBytes) {
      throw invalid(
        `it declares ${outputBytes} bytes of output, above the limit of ${maxOutputBytes}`,
      );
    }
    let offset = fileHeaderSize;
    let blocks = 0;
    const chunk = Buffer.alloc(12);
    for (let i = 0; i < totalChunks; i++) {
      if (offset + chunkHeaderSize > size)
        throw invalid(`chunk ${i} of ${totalChunks} lies past the end of the file`);
      await handle.read(chunk, 0, 12, offset);
      const type = chunk.readUInt16LE(0);
      const chunkBlocks = chunk.readUInt32LE(4);
      const totalSize = chunk.readUInt32LE(8);
      const dataSize = totalSize - chunkHeaderSize;
      const expected =
        type === CHUNK_RAW
          ? chunkBlocks * blockSize
          : type === CHUNK_FILL || type === CHUNK_CRC32
            ? 4
            : type === CHUNK_DONT_CARE
              ? 0
              : -1;
      if (expected < 0) throw invalid(`chunk ${i} has unknown type 0x${type.toString(16)}`);
      if (dataSize !== expected) {
        throw invalid(
          `chunk ${i} says it holds ${dataSize} bytes of data where ${expected} are due`,
        );
      }
      if (type !== CHUNK_CRC32) blocks += chunkBlocks;
      if (blocks > totalBlocks)
        throw invalid(`its chunks cover more than the ${totalBlocks} blocks it declares`);
      offset += totalSize;
      if (offset > size) throw invalid(`chunk ${i} runs past the end of the file`);
    }
    if (blocks !== totalBlocks)
      throw invalid(`its chunks cover ${blocks} of the ${totalBlocks} blocks it declares`);
    return { blockSize, totalBlocks, chunks: totalChunks, outputBytes };
  } finally {
    await handle.close();
  }
}

/** Checks, then converts with simg2img into `outFile` (raw). */
export async function unsparse(
  path: string,
  outFile: string,
  label: string,
  maxOutputBytes: number,
  timeoutMs: number,
): Promise<SparseSummary> {
  const summary = await checkSparseImage(path, label, maxOutputBytes);
  const result = await runTool('simg2img', [path, outFile], { timeoutMs, allowFailure: true });
  if (result.exitCode !== 0) {
    throw new InputError(
      'sparse-invalid',
      `${label} could not be expanded: ${result.stderr.trim().split('\n').pop() ?? ''}`,
      {
        hint: 'copy the image again; simg2img rejects it',
      },
    );
  }
  return summary;
}
