import { lstat, mkdir, open, readdir, realpath, statfs, copyFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { execa } from 'execa';
import { CanarytrapError, InputError } from '../../errors.ts';
import { DISK_RESERVE_BYTES } from '../../host/disk-room.ts';
import type { OpenPartitionOptions, PartitionEntry, PartitionReader } from './types.ts';

/**
 * erofs partitions (Android 13+ system images). There is no debugfs for erofs, so the image is
 * extracted once with `fsck.erofs --extract`, which also checks every file decodes, and read
 * from that directory without ever following a link out of it.
 */

const SUPERBLOCK_OFFSET = 1024;
const EROFS_MAGIC = 0xe0f5e1e2;
/** How often the extraction's disk use is checked against its limit. */
const DISK_POLL_MS = 200;

export function isErofs(head: Buffer): boolean {
  return (
    head.length >= SUPERBLOCK_OFFSET + 4 && head.readUInt32LE(SUPERBLOCK_OFFSET) === EROFS_MAGIC
  );
}

/** Checks the superblock and that the file holds every block it declares. */
export async function assertErofs(path: string, size: number, label: string): Promise<void> {
  const handle = await open(path, 'r');
  const sb = Buffer.alloc(128);
  try {
    await handle.read(sb, 0, sb.length, SUPERBLOCK_OFFSET);
  } finally {
    await handle.close();
  }
  const invalid = (why: string) =>
    new InputError('erofs-invalid', `${label} is a damaged erofs image: ${why}`, {
      hint: 'copy the image again; the transfer was cut short or the file is not a partition',
    });
  if (sb.readUInt32LE(0) !== EROFS_MAGIC) throw invalid('no erofs superblock');
  const blockBits = sb.readUInt8(12);
  if (blockBits < 9 || blockBits > 16) throw invalid(`block size 2^${blockBits} is impossible`);
  const declared = BigInt(sb.readUInt32LE(36)) << BigInt(blockBits);
  if (BigInt(size) < declared) {
    throw invalid(`its superblock declares ${declared} bytes, the file has ${size}`);
  }
}

export async function openErofsPartition(
  image: string,
  label: string,
  options: OpenPartitionOptions,
): Promise<PartitionReader> {
  const root = join(options.scratchDir, 'erofs-root');
  await mkdir(root);
  await extractErofs(image, root, label, options);
  const rootReal = await realpath(root);

  /** The local path of a partition path, or undefined when it is absent or leads outside. */
  const local = async (path: string): Promise<string | undefined> => {
    // The tree is extracted locally, so any name works; only a way out of it does not.
    if (!path.startsWith('/') || path.includes('\0') || path.split('/').includes('..'))
      return undefined;
    let real: string;
    try {
      real = await realpath(join(root, path));
    } catch {
      return undefined;
    }
    return real === rootReal || real.startsWith(rootReal + sep) ? real : undefined;
  };

  return {
    filesystem: 'erofs',
    listDir: async (path) => {
      const dir = await local(path);
      if (!dir || !(await lstat(dir)).isDirectory()) return undefined;
      const entries: PartitionEntry[] = [];
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const info = await lstat(join(dir, entry.name));
        const kind = info.isFile()
          ? 'file'
          : info.isDirectory()
            ? 'dir'
            : info.isSymbolicLink()
              ? 'symlink'
              : 'other';
        entries.push({ name: entry.name, kind, size: info.size });
      }
      return entries;
    },
    readFile: async (path, maxBytes) => {
      const file = await local(path);
      if (!file) return undefined;
      const info = await lstat(file);
      if (!info.isFile()) return undefined;
      if (info.size > maxBytes) {
        throw new InputError('partition-file-too-large', `${path} holds ${info.size} bytes`, {
          hint: `files read whole are limited to ${maxBytes} bytes`,
        });
      }
      const handle = await open(file, 'r');
      try {
        return await handle.readFile();
      } finally {
        await handle.close();
      }
    },
    extractFiles: async (files) => {
      for (const { from, to } of files) {
        const file = await local(from);
        if (file && (await lstat(file)).isFile()) await copyFile(file, to);
      }
    },
  };
}

async function extractErofs(
  image: string,
  root: string,
  label: string,
  options: OpenPartitionOptions,
): Promise<void> {
  const freeBytes = async () => {
    const info = await statfs(root);
    return info.bavail * info.bsize;
  };
  const startFree = await freeBytes();
  const child = execa('fsck.erofs', ['--no-preserve', `--extract=${root}`, image], {
    timeout: options.timeoutMs,
    reject: false,
    stdin: 'ignore',
  });
  // A compressed erofs can expand far beyond its own size; the free space of the store's disk
  // is watched and the extraction stopped once it has written more than its share.
  let overLimit = false;
  let diskFull = false;
  const watch = setInterval(() => {
    freeBytes().then(
      (free) => {
        overLimit ||= startFree - free > options.maxExtractBytes;
        diskFull ||= free < DISK_RESERVE_BYTES;
        if (overLimit || diskFull) child.kill('SIGKILL');
      },
      // A failed statfs only skips this look; the next one comes 200 ms later.
      () => undefined,
    );
  }, DISK_POLL_MS);
  let result;
  try {
    result = await child;
  } finally {
    clearInterval(watch);
  }
  // An extraction quicker than one poll is measured once it is done.
  overLimit ||= startFree - (await freeBytes()) > options.maxExtractBytes;
  if ((result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new CanarytrapError('tool-missing', 'fsck.erofs is not installed', {
      permanent: true,
      hint: 'install it with: apt-get install -y erofs-utils',
    });
  }
  if (diskFull && !overLimit) {
    throw new CanarytrapError('store-full', `extracting ${label} filled the store's disk`, {
      hint: 'free disk space under the data root, or move CANARYTRAP_DATA to a larger disk',
    });
  }
  if (overLimit) {
    throw new InputError(
      'erofs-too-large',
      `${label} expands to more than ${options.maxExtractBytes} bytes`,
      { hint: 'a compressed erofs this large is not a plausible system partition' },
    );
  }
  if (result.timedOut) {
    throw new CanarytrapError(
      'tool-timeout',
      `fsck.erofs ran longer than ${options.timeoutMs} ms on ${label}`,
      { hint: 'raise timeoutMs in the intake options if the image is very large' },
    );
  }
  const output = `${String(result.stderr ?? '')}\n${String(result.stdout ?? '')}`;
  // fsck.erofs 1.5 exits 0 after some errors (a bad superblock checksum): its `<E>` lines count.
  const errors = output.split('\n').filter((l) => l.includes('<E>'));
  if (result.exitCode !== 0 || errors.length > 0) {
    const reason =
      (errors[errors.length - 1] ?? output.split('\n').filter(Boolean).pop())?.trim() ??
      `exit code ${result.exitCode}`;
    throw new InputError('erofs-invalid', `${label} cannot be read as erofs: ${reason}`, {
      hint: 'the image is damaged; submit an intact copy',
    });
  }
}
