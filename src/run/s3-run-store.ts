import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3StoreLocation } from '../config.ts';
import { CanarytrapError, InputError } from '../errors.ts';
import { exists } from '../host/fs.ts';
import {
  installFetchedRun,
  PUBLISHED_MARKER,
  type PublishedRun,
  type RunStore,
} from './stored-run.ts';

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const IMAGE_KEY = /^images\/[0-9a-f]{64}$/;

/**
 * The run store on S3-compatible object storage: `<prefix>runs/<run id>/<file>` with the
 * `.published.json` marker written last, and `<prefix>images/<sha256>` for submitted images.
 */
export class S3RunStore implements RunStore {
  readonly #client: S3Client;
  readonly #prefix: string;

  constructor(readonly location: S3StoreLocation) {
    // canarytrap runs on Node 20 and pins the SDK (package.json) to a release that supports
    // it; the SDK's note that later releases will not belongs to us, not on a user's terminal.
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
    this.#prefix = location.prefix;
    this.#client = new S3Client({
      region: location.region,
      ...(location.endpoint ? { endpoint: location.endpoint, forcePathStyle: true } : {}),
      ...(location.credentials ? { credentials: location.credentials } : {}),
      // Checksums only where S3 requires them: S3-compatible servers do not all take the
      // SDK's default trailing checksums on streamed uploads.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 4,
    });
  }

  async publishRun(runId: string, runDir: string): Promise<void> {
    const files = await regularFilesUnder(runDir);
    // A run is a few dozen files, most small (screenshots, page sources, JSON): several at a
    // time, so the run's end waits on the store's throughput rather than on its round trips.
    await inParallel(files, UPLOADS_AT_ONCE, async (file) => {
      const path = join(runDir, file);
      const { size } = await stat(path);
      await this.#send(`storing ${file} of run ${runId}`, (client) =>
        client.send(
          new PutObjectCommand({
            Bucket: this.location.bucket,
            Key: this.#runKey(runId, file),
            Body: createReadStream(path),
            ContentLength: size,
          }),
        ),
      );
    });
    const published: PublishedRun = { runId, files, publishedAt: new Date().toISOString() };
    await this.#send(`storing run ${runId}`, (client) =>
      client.send(
        new PutObjectCommand({
          Bucket: this.location.bucket,
          Key: this.#runKey(runId, PUBLISHED_MARKER),
          Body: JSON.stringify(published),
          ContentType: 'application/json',
        }),
      ),
    );
  }

  async fetchRun(runId: string, runDir: string): Promise<boolean> {
    if (!RUN_ID.test(runId)) return false;
    const marker = await this.#get(this.#runKey(runId, PUBLISHED_MARKER), `run ${runId}`);
    if (!marker) return false;
    const published = parsePublished(await marker.transformToString(), runId);
    await installFetchedRun(runDir, published, async (stagedPath) => {
      for (const file of published.files) {
        const target = stagedPath(file);
        const body = await this.#get(this.#runKey(runId, file), `${file} of run ${runId}`);
        if (!body) {
          throw new CanarytrapError(
            'store-invalid',
            `the stored run ${runId} lists ${file}, which the store does not have`,
            { permanent: true, hint: 'publish the run again from the worker host that ran it' },
          );
        }
        await mkdir(join(target, '..'), { recursive: true });
        await pipeline(nodeStream(body), createWriteStream(target));
      }
    });
    return true;
  }

  async listRuns(): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.#send('listing runs', (client) =>
        client.send(
          new ListObjectsV2Command({
            Bucket: this.location.bucket,
            Prefix: `${this.#prefix}runs/`,
            Delimiter: '/',
            ...(token ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const common of page?.CommonPrefixes ?? []) {
        const id = common.Prefix?.slice(`${this.#prefix}runs/`.length).replace(/\/$/, '');
        if (id && RUN_ID.test(id)) ids.push(id);
      }
      token = page?.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return ids;
  }

  async putImage(path: string): Promise<string> {
    const info = await stat(path);
    if (!info.isFile()) {
      throw new InputError(
        'image-not-shareable',
        'an image directory cannot be handed to workers on other hosts through the shared store',
        { hint: 'submit the image as one file (a zip of the directory, or system.img)' },
      );
    }
    const hash = createHash('sha256');
    await pipeline(createReadStream(path), hash);
    const key = `images/${hash.digest('hex')}`;
    const head = await this.#send(
      `looking for ${key}`,
      (client) =>
        client.send(
          new HeadObjectCommand({ Bucket: this.location.bucket, Key: this.#prefix + key }),
        ),
      true,
    );
    if (!head) {
      await this.#send(`storing the image ${key}`, (client) =>
        client.send(
          new PutObjectCommand({
            Bucket: this.location.bucket,
            Key: this.#prefix + key,
            Body: createReadStream(path),
            ContentLength: info.size,
          }),
        ),
      );
    }
    return key;
  }

  async getImage(key: string, cacheDir: string): Promise<string> {
    if (!IMAGE_KEY.test(key)) {
      throw new CanarytrapError('store-invalid', `"${key}" is not an image key of the store`, {
        permanent: true,
      });
    }
    const sha = key.slice('images/'.length);
    const local = join(cacheDir, sha);
    if (await exists(local)) return local;
    const body = await this.#get(this.#prefix + key, `the image ${key}`);
    if (!body) {
      throw new CanarytrapError('image-missing', `the shared store has no image ${key}`, {
        permanent: true,
        hint: 'submit the image again',
      });
    }
    await mkdir(cacheDir, { recursive: true });
    const partial = `${local}.part-${process.pid}`;
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(nodeStream(body), hashing, createWriteStream(partial));
      if (hash.digest('hex') !== sha) {
        throw new CanarytrapError(
          'store-invalid',
          `the stored image ${key} does not match its hash`,
          {
            permanent: true,
            hint: 'submit the image again',
          },
        );
      }
      await rename(partial, local);
    } finally {
      await rm(partial, { force: true });
    }
    return local;
  }

  #runKey(runId: string, file: string): string {
    return `${this.#prefix}runs/${runId}/${file}`;
  }

  async #get(key: string, what: string) {
    const answer = await this.#send(
      `reading ${what}`,
      (client) => client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: key })),
      true,
    );
    return answer?.Body;
  }

  /** One request; S3's own retries first, then a coded error naming the store. */
  async #send<Output>(
    what: string,
    request: (client: S3Client) => Promise<Output>,
    missingIsUndefined = false,
  ): Promise<Output | undefined> {
    try {
      return await request(this.#client);
    } catch (error) {
      if (missingIsUndefined && (error instanceof NoSuchKey || error instanceof NotFound))
        return undefined;
      if (missingIsUndefined && (error as { name?: string }).name === 'NotFound') return undefined;
      throw new CanarytrapError(
        'store-unavailable',
        `the shared store ${describeLocation(this.location)} failed ${what}: ${(error as Error).message}`,
        {
          cause: error,
          hint: 'check CANARYTRAP_STORE, the endpoint (AWS_ENDPOINT_URL_S3) and the credentials',
        },
      );
    }
  }
}

/** An object's body as a Node stream (the SDK gives a web-stream-capable body). */
function nodeStream(body: { transformToWebStream(): ReadableStream }): Readable {
  return Readable.fromWeb(body.transformToWebStream() as import('node:stream/web').ReadableStream);
}

export function describeLocation(location: S3StoreLocation): string {
  return `s3://${location.bucket}/${location.prefix}${location.endpoint ? ` at ${location.endpoint}` : ''}`;
}

const UPLOADS_AT_ONCE = 6;

/** Runs `work` on every item, at most `limit` at a time; the first failure rejects. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

function parsePublished(text: string, runId: string): PublishedRun {
  try {
    const value = JSON.parse(text) as Partial<PublishedRun>;
    if (
      value.runId === runId &&
      Array.isArray(value.files) &&
      value.files.every((f) => typeof f === 'string')
    )
      return value as PublishedRun;
  } catch {
    // reported below
  }
  throw new CanarytrapError('store-invalid', `the stored marker of run ${runId} is damaged`, {
    permanent: true,
    hint: 'publish the run again from the worker host that ran it',
  });
}

/** Regular files under `dir`, relative, with `/` separators; links and devices are skipped. */
async function regularFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name !== PUBLISHED_MARKER)
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}
