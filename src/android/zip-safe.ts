import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { InputError } from '../errors.ts';
import { openZipFile } from './zip-file-reader.ts';

/**
 * Zip archives from users, read without trusting them: every entry name and size is checked
 * from the central directory before a single byte is extracted; sizes and CRCs are checked
 * again while streaming.
 */

export interface ZipLimits {
  /** Sum of declared uncompressed sizes. Default 16 GiB. */
  maxTotalBytes: number;
  /** Default 10,000 entries. */
  maxEntries: number;
  /** Largest uncompressed/compressed ratio of one entry above `ratioMinBytes`. Default 500. */
  maxRatio: number;
  /** Entries smaller than this are never judged by their ratio (empty ext4 space compresses
   * very well, and it is harmless at small sizes). Default 64 MiB. */
  ratioMinBytes: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxTotalBytes: 16 * 1024 ** 3,
  maxEntries: 10_000,
  maxRatio: 500,
  ratioMinBytes: 64 * 1024 ** 2,
};

export interface ZipEntryInfo {
  /** Decoded name, `/` separated, checked: relative, no `..`. */
  name: string;
  isDirectory: boolean;
  uncompressedSize: number;
  compressedSize: number;
  entry: Entry;
}

export interface OpenedZip extends AsyncDisposable {
  entries: ZipEntryInfo[];
  totalUncompressed: number;
  openStream(entry: ZipEntryInfo): Promise<Readable>;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const LOCAL_HEADER_FIXED = 30;

/** Opens and checks the whole central directory; throws InputError on the first problem. */
export async function openZipChecked(
  path: string,
  label: string,
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
): Promise<OpenedZip> {
  let zip: ZipFile;
  try {
    zip = await openZipFile(path, {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: false,
      validateEntrySizes: true,
      strictFileNames: false,
    });
  } catch (error) {
    throw corrupt(label, error);
  }
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw new InputError(
        'zip-bomb',
        `${label} declares ${zip.entryCount} entries, more than the limit of ${limits.maxEntries}`,
        {
          hint: 'submit the system image zip itself, not an archive of archives',
        },
      );
    }
    const entries: ZipEntryInfo[] = [];
    let total = 0;
    try {
      for await (const entry of zip.eachEntry()) {
        const info = checkEntry(entry, label, limits);
        total += info.uncompressedSize;
        if (total > limits.maxTotalBytes) {
          throw new InputError(
            'zip-bomb',
            `${label} declares more than ${limits.maxTotalBytes} uncompressed bytes (at entry ${info.name})`,
            {
              hint: 'this archive expands beyond what intake accepts; raise maxZipTotalBytes if it is genuine',
            },
          );
        }
        entries.push(info);
      }
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw corrupt(label, error);
    }
    checkNoOverlap(entries, label);
    return {
      entries,
      totalUncompressed: total,
      openStream: async (info) => {
        try {
          return await zip.openReadStreamPromise(info.entry);
        } catch (error) {
          throw corrupt(label, error);
        }
      },
      [Symbol.asyncDispose]: async () => zip.close(),
    };
  } catch (error) {
    zip.close();
    throw error;
  }
}

function checkEntry(entry: Entry, label: string, limits: ZipLimits): ZipEntryInfo {
  const raw = entry.fileNameRaw;
  const name = yauzl.getFileNameLowLevel(
    entry.generalPurposeBitFlag,
    raw,
    yauzl.parseExtraFields(entry.extraFieldRaw),
    false,
  );
  const shown = JSON.stringify(name);
  const escapes = (why: string) =>
    new InputError('zip-entry-escapes', `${label} has an entry ${shown} that ${why}`, {
      hint: 'the archive is unsafe to extract; rebuild it with relative paths only',
      details: { entry: name },
    });
  if (name.length === 0 || name.includes('\0'))
    throw escapes('has an empty or NUL-containing name');
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) throw escapes('is an absolute path');
  if (name.split('/').some((part) => part === '..'))
    throw escapes('climbs out of the archive with ".."');
  const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
  if (mode === S_IFLNK) throw escapes('is a symbolic link');
  const isDirectory = name.endsWith('/');
  const { uncompressedSize, compressedSize } = entry;
  if (entry.isEncrypted()) {
    throw new InputError('zip-corrupt', `${label} entry ${shown} is encrypted`, {
      hint: 'submit an unencrypted archive',
    });
  }
  if (!isDirectory && uncompressedSize >= limits.ratioMinBytes) {
    const ratio = uncompressedSize / Math.max(1, compressedSize);
    if (ratio > limits.maxRatio) {
      throw new InputError(
        'zip-bomb',
        `${label} entry ${shown} expands ${Math.round(ratio)}:1 (${uncompressedSize} bytes from ${compressedSize}), above the limit of ${limits.maxRatio}:1`,
        { hint: 'this looks like a decompression bomb; submit the genuine image' },
      );
    }
  }
  return { name, isDirectory, uncompressedSize, compressedSize, entry };
}

/** Entries whose data overlap are the signature of the non-recursive zip bomb. */
function checkNoOverlap(entries: readonly ZipEntryInfo[], label: string): void {
  const sorted = [...entries].sort(
    (a, b) => a.entry.relativeOffsetOfLocalHeader - b.entry.relativeOffsetOfLocalHeader,
  );
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1];
    const current = sorted[i];
    if (!previous || !current) continue;
    const previousEnd =
      previous.entry.relativeOffsetOfLocalHeader +
      LOCAL_HEADER_FIXED +
      previous.entry.fileNameLength +
      previous.compressedSize;
    if (current.entry.relativeOffsetOfLocalHeader < previousEnd) {
      throw new InputError(
        'zip-bomb',
        `${label} entries ${JSON.stringify(previous.name)} and ${JSON.stringify(current.name)} share their data`,
        {
          hint: 'overlapping entries are a decompression-bomb technique; submit the genuine image',
        },
      );
    }
  }
}

/** Streams one entry into a new file (never overwriting), checking its CRC-32. */
export async function extractEntry(
  zip: OpenedZip,
  info: ZipEntryInfo,
  targetRoot: string,
  relativeTarget: string,
  label: string,
): Promise<void> {
  const root = resolve(targetRoot);
  const target = resolve(root, relativeTarget);
  if (!target.startsWith(root + sep)) {
    throw new InputError(
      'zip-entry-escapes',
      `${label} has an entry ${JSON.stringify(info.name)} that leaves the extraction directory`,
    );
  }
  await mkdir(dirname(target), { recursive: true });
  const stream = await zip.openStream(info);
  let crc = 0;
  const checkCrc = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      crc = crc32(chunk, crc);
      callback(null, chunk);
    },
    flush(callback) {
      callback(crc === info.entry.crc32 ? null : new Error(`CRC-32 mismatch in ${info.name}`));
    },
  });
  try {
    // flags 'wx': a second entry of the same name fails instead of replacing the first.
    await pipeline(stream, checkCrc, createWriteStream(target, { flags: 'wx' }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new InputError(
        'zip-corrupt',
        `${label} holds the entry ${JSON.stringify(info.name)} twice`,
        {
          hint: 'rebuild the archive',
        },
      );
    }
    throw corrupt(label, error);
  }
}

/** Reads small entries (dex, manifest) into memory, each bounded. */
export async function readEntryBytes(
  zip: OpenedZip,
  info: ZipEntryInfo,
  maxBytes: number,
  label: string,
): Promise<Buffer> {
  if (info.uncompressedSize > maxBytes) {
    throw new InputError(
      'zip-bomb',
      `${label} entry ${info.name} is ${info.uncompressedSize} bytes, above ${maxBytes}`,
    );
  }
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of await zip.openStream(info)) chunks.push(chunk as Buffer);
  } catch (error) {
    throw corrupt(label, error);
  }
  return Buffer.concat(chunks);
}

function corrupt(label: string, error: unknown): InputError {
  if (error instanceof InputError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new InputError('zip-corrupt', `${label} is a damaged zip archive: ${reason}`, {
    cause: error,
    hint: 'copy the archive again; it is truncated or corrupt',
  });
}
