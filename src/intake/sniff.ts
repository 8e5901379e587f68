import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { InputError } from '../errors.ts';
import { PAYLOAD_MAGIC } from './ota/payload.ts';
import { isSuperImage } from './ota/super-image.ts';
import { isErofs } from '../android/partition/erofs.ts';
import { SPARSE_MAGIC } from './sparse.ts';

/** What a submitted path is, judged from its first bytes only. */
export type ImageKind = 'zip' | 'directory' | 'sparse' | 'ext4' | 'erofs' | 'payload' | 'super';

/**
 * A quick look (one stat, one 8 KiB read) that `canarytrap submit` runs before queueing, so a
 * wrong file is refused at once with a one-line reason. Intake checks everything again in depth.
 */
export async function sniffImage(path: string): Promise<ImageKind> {
  const label = basename(path);
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new InputError('image-not-found', `${label}: no such file or directory`, {
      cause: error,
      hint: 'check the path of the image you submitted',
    });
  }
  if (info.isDirectory()) return 'directory';
  if (!info.isFile()) {
    throw new InputError('image-unrecognised', `${label} is not a regular file or directory`, {
      hint: 'submit a system image file, an image zip or an emulator system-image directory',
    });
  }
  if (info.size === 0) {
    throw new InputError('image-empty', `${label} is empty (0 bytes)`, {
      hint: 'the copy or download did not finish; fetch the image again',
    });
  }
  const head = Buffer.alloc(8192);
  const handle = await open(path, 'r');
  let bytesRead: number;
  try {
    ({ bytesRead } = await handle.read(head, 0, head.length, 0));
  } finally {
    await handle.close();
  }
  const kind = kindOf(head.subarray(0, bytesRead));
  if (kind) return kind;
  // What it looks like, never its bytes: over the API, the message would read out any file.
  const looks = looksLikeText(head.subarray(0, bytesRead))
    ? 'text, not an image (an error page or a listing saved in its place?)'
    : 'binary data of no image format canarytrap reads';
  throw new InputError(
    'image-unrecognised',
    `${label} is not a system image, zip, sparse, ext4, erofs, payload.bin or super.img: it is ${looks}`,
    {
      hint: 'submit system.img, a sparse image, an SDK or OTA zip, payload.bin, super.img or an unpacked SDK directory',
    },
  );
}

function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return false;
  let printable = 0;
  for (const byte of head)
    if (byte === 9 || byte === 10 || byte === 13 || (byte >= 32 && byte < 127)) printable++;
  return printable / head.length > 0.95;
}

function kindOf(head: Buffer): ImageKind | undefined {
  if (head.length >= 4) {
    const magic = head.readUInt32LE(0);
    // Local file header, or the end record of an empty archive.
    if (magic === 0x04034b50 || magic === 0x06054b50) return 'zip';
    if (magic === SPARSE_MAGIC) return 'sparse';
    if (head.subarray(0, 4).equals(PAYLOAD_MAGIC)) return 'payload';
  }
  if (head.length >= 1024 + 58 && head.readUInt16LE(1024 + 56) === 0xef53) return 'ext4';
  if (isErofs(head)) return 'erofs';
  if (isSuperImage(head)) return 'super';
  return undefined;
}
