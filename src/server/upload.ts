import busboy from 'busboy';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiError } from './http-kit.ts';

export interface SavedUpload {
  path: string;
  /** The client's file name, reduced to safe characters: the run's label. */
  name: string;
}

export interface UploadLimits {
  uploadsDir: string;
  maxBytes: number;
}

/** The fields of a multipart form next to its one file. */
export interface MultipartUpload {
  fields: Map<string, string>;
  file?: SavedUpload;
}

export function safeUploadName(name: string | undefined): string {
  const cleaned = (name ?? '').replaceAll(/[^A-Za-z0-9._-]/g, '_').replace(/^[._]+/, '');
  return cleaned.slice(0, 100) || 'upload.img';
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(
    413,
    'upload-too-large',
    `an upload may have at most ${maxBytes} bytes (CANARYTRAP_UPLOAD_LIMIT_MB)`,
  );
}

function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers['content-length'];
  return header === undefined ? undefined : Number(header);
}

/** Counts bytes as they pass and fails the stream once past the limit, so a file never outgrows it on disk. */
function byteLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > maxBytes) callback(tooLarge(maxBytes));
      else callback(null, chunk);
    },
  });
}

async function streamToFile(
  source: Readable,
  limits: UploadLimits,
  name: string,
): Promise<SavedUpload> {
  const path = join(limits.uploadsDir, `${randomUUID()}-${name}`);
  try {
    await pipeline(source, byteLimit(limits.maxBytes), createWriteStream(path, { mode: 0o600 }));
  } catch (error) {
    await rm(path, { force: true });
    throw clientAborted(source, error) ? uploadAborted() : error;
  }
  return { path, name };
}

/**
 * A client that goes away mid-upload is a client's doing, not the server failing: it is
 * answered (if anyone still listens) and logged as such, not as an error with a stack.
 */
function clientAborted(source: Readable, error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const incomplete = 'complete' in source && source.complete === false;
  return (
    incomplete &&
    (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || source.destroyed)
  );
}

function uploadAborted(): ApiError {
  return new ApiError(400, 'upload-aborted', 'the client ended the upload before it was complete');
}

/** A raw body (`application/octet-stream`) is the image itself; `?name=` names it. */
export async function saveRawUpload(
  req: IncomingMessage,
  limits: UploadLimits,
  name: string | null,
): Promise<SavedUpload> {
  const length = declaredLength(req);
  if (length !== undefined && length > limits.maxBytes) throw tooLarge(limits.maxBytes);
  await mkdir(limits.uploadsDir, { recursive: true });
  return streamToFile(req, limits, safeUploadName(name ?? undefined));
}

/** A `multipart/form-data` body (the page's form): text fields and at most one file, streamed to disk. */
export async function saveMultipartUpload(
  req: IncomingMessage,
  limits: UploadLimits,
): Promise<MultipartUpload> {
  const length = declaredLength(req);
  // The form's other fields are small, so a body this much larger than the limit is refused unread.
  if (length !== undefined && length > limits.maxBytes + 64 * 1024) throw tooLarge(limits.maxBytes);
  const fields = new Map<string, string>();
  let parser: busboy.Busboy;
  try {
    // busboy stops a file at fileSize and discards the rest of it, which keeps the parse going.
    parser = busboy({
      headers: req.headers,
      limits: { files: 1, fields: 20, fieldSize: 4096, fileSize: limits.maxBytes },
    });
  } catch {
    throw new ApiError(400, 'body-malformed', 'the multipart body has no boundary');
  }
  await mkdir(limits.uploadsDir, { recursive: true });
  const saving: Array<Promise<SavedUpload>> = [];
  let overLimit = false;
  parser.on('field', (key, value) => fields.set(key, value));
  parser.on('file', (_field, stream, info) => {
    // A form submitted without choosing a file still sends an empty part with no name.
    if (!info.filename) {
      stream.resume();
      return;
    }
    stream.on('limit', () => {
      overLimit = true;
    });
    const path = join(limits.uploadsDir, `${randomUUID()}-${safeUploadName(info.filename)}`);
    saving.push(
      pipeline(stream, createWriteStream(path, { mode: 0o600 })).then(
        () => ({ path, name: safeUploadName(info.filename) }),
        async (error: unknown) => {
          await rm(path, { force: true });
          throw error;
        },
      ),
    );
  });
  let parseFailed = false;
  await pipeline(req, parser).catch(() => {
    parseFailed = true;
  });
  const aborted = !req.complete;
  const saved = await Promise.allSettled(saving);
  const paths = saved.flatMap((s) => (s.status === 'fulfilled' ? [s.value.path] : []));
  const failure = saved.find((s) => s.status === 'rejected');
  if (overLimit || parseFailed || failure) {
    await Promise.all(paths.map((path) => rm(path, { force: true })));
    if (overLimit) throw tooLarge(limits.maxBytes);
    if (aborted) throw uploadAborted();
    throw new ApiError(400, 'body-malformed', 'the multipart body could not be read');
  }
  const first = saved[0];
  return { fields, ...(first?.status === 'fulfilled' ? { file: first.value } : {}) };
}
