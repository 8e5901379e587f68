import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress } from 'node:zlib';
import { InputError } from '../../errors.ts';
import { BlockImage, findOverlap, type BlockSpan } from './block-image.ts';

/**
 * Non-A/B OTAs: `system.new.dat` (optionally brotli-compressed as `.new.dat.br`) holds the
 * blocks the `system.transfer.list` writes. Versions 1 to 4 are read; of their commands only
 * `new`, `zero` and `erase` are applied, as a full OTA has no others.
 */

const BLOCK_SIZE = 4096;
const FULL_COMMANDS = new Set(['new', 'zero', 'erase']);
const DELTA_COMMANDS = new Set(['move', 'bsdiff', 'imgdiff', 'stash', 'free']);
const MAX_LIST_BYTES = 64 * 1024 * 1024;

export interface TransferList {
  version: number;
  totalBlocks: number;
  /** `new` ranges in order: the .new.dat fills them one after the other. */
  newSpans: BlockSpan[];
  /** The end of the last range of any command: the image's size in blocks. */
  imageBlocks: number;
}

function invalid(label: string, why: string): InputError {
  return new InputError('transfer-list-invalid', `${label}: ${why}`, {
    hint: 'copy the OTA zip again; a full OTA holds system.transfer.list and system.new.dat',
  });
}

/** A range set: "<count>,<start>,<end>,..." with count numbers forming [start, end) pairs. */
function parseRangeSet(text: string, label: string, line: number): BlockSpan[] {
  const numbers = text.split(',').map((n) => (/^\d{1,15}$/.test(n) ? Number(n) : Number.NaN));
  const [count, ...rest] = numbers;
  if (
    count === undefined ||
    numbers.some(Number.isNaN) ||
    count !== rest.length ||
    count % 2 !== 0 ||
    count === 0
  ) {
    throw invalid(label, `line ${line} has a malformed range set "${text.slice(0, 80)}"`);
  }
  const spans: BlockSpan[] = [];
  for (let i = 0; i < rest.length; i += 2) {
    const start = rest[i] ?? 0;
    const end = rest[i + 1] ?? 0;
    if (end <= start)
      throw invalid(label, `line ${line} has a range ${start}..${end} that runs backwards`);
    spans.push({ start, end });
  }
  return spans;
}

export function parseTransferList(
  text: string,
  label: string,
  maxImageBytes: number,
): TransferList {
  if (text.length > MAX_LIST_BYTES) throw invalid(label, 'the transfer list is implausibly large');
  const lines = text.split('\n').map((l) => l.trim());
  const version = Number(lines[0]);
  if (![1, 2, 3, 4].includes(version))
    throw invalid(label, `transfer list version "${lines[0] ?? ''}" is not 1 to 4`);
  const totalBlocks = Number(lines[1]);
  if (!Number.isSafeInteger(totalBlocks) || totalBlocks < 0)
    throw invalid(label, 'its block count is not a number');
  // Versions 2 and later add the stash entry count and the stash size.
  const first = version >= 2 ? 4 : 2;
  const newSpans: BlockSpan[] = [];
  const all: BlockSpan[] = [];
  for (let i = first; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '') continue;
    const [command = '', ranges = '', ...extra] = line.split(/\s+/);
    if (DELTA_COMMANDS.has(command)) {
      throw new InputError(
        'transfer-list-delta-unsupported',
        `${label} line ${i + 1} uses "${command}": this is an incremental OTA, which needs the previous build to apply`,
        { hint: 'submit a full OTA or the factory image of the build instead' },
      );
    }
    if (!FULL_COMMANDS.has(command) || extra.length > 0) {
      throw invalid(label, `line ${i + 1} is not a transfer command: "${line.slice(0, 80)}"`);
    }
    const spans = parseRangeSet(ranges, label, i + 1);
    if (command === 'new') {
      newSpans.push(...spans);
      all.push(...spans);
    } else {
      // zero and erase: the fresh image reads as zeros there, but they set its size.
      all.push(...spans);
    }
  }
  const imageBlocks = all.reduce((m, s) => Math.max(m, s.end), 0);
  if (imageBlocks * BLOCK_SIZE > maxImageBytes) {
    throw invalid(
      label,
      `it writes up to block ${imageBlocks}, ${imageBlocks * BLOCK_SIZE} bytes, above the limit of ${maxImageBytes}`,
    );
  }
  const overlap = findOverlap(newSpans);
  if (overlap)
    throw invalid(
      label,
      `it writes blocks ${overlap[1].start}..${overlap[0].end - 1} more than once`,
    );
  return { version, totalBlocks, newSpans, imageBlocks };
}

/** Brotli-decompresses a .new.dat.br, stopping as soon as it exceeds `maxBytes`. */
export async function unbrotli(
  from: string,
  to: string,
  maxBytes: number,
  label: string,
): Promise<void> {
  let written = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      written += chunk.length;
      if (written > maxBytes)
        done(
          invalid(
            label,
            `the brotli data expands past the ${maxBytes} bytes the transfer list writes`,
          ),
        );
      else done(null, chunk);
    },
  });
  try {
    await pipeline(
      createReadStream(from),
      createBrotliDecompress(),
      limit,
      createWriteStream(to, { flags: 'wx' }),
    );
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw invalid(label, `the brotli data does not decompress (${(error as Error).message})`);
  }
}

/** Applies a parsed transfer list: the raw image it describes, from its new.dat. */
export async function applyTransferList(
  list: TransferList,
  newDat: string,
  outFile: string,
  label: string,
): Promise<void> {
  const needed = list.newSpans.reduce((sum, s) => sum + (s.end - s.start), 0) * BLOCK_SIZE;
  const source = await open(newDat, 'r');
  try {
    const { size } = await source.stat();
    if (size < needed) {
      throw invalid(
        label,
        `system.new.dat holds ${size} bytes where the transfer list needs ${needed}`,
      );
    }
    await using image = await BlockImage.create(outFile, list.imageBlocks * BLOCK_SIZE, BLOCK_SIZE);
    await image.copyInto(source, 0, needed, list.newSpans);
  } finally {
    await source.close();
  }
}
