import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoreLocation } from '../config.ts';
import { CanarytrapError } from '../errors.ts';

/**
 * Where finished runs are kept for every host. With the default store (the data root) the run
 * directory a worker wrote is the stored run. With a shared object store (`CANARYTRAP_STORE=
 * s3://bucket/prefix`), a worker publishes each run it ends and keeps nothing; the API, `report`,
 * `diff`, exports and reruns on any host read a run through a local copy fetched on first use.
 * A finished run never changes, so such a copy never goes stale.
 */
export interface RunStore {
  readonly location: StoreLocation;
  /** Copies a finished run's directory into the store; the marker goes last. */
  publishRun(runId: string, runDir: string): Promise<void>;
  /** Makes a stored run present in `runDir`; false when the store has no such run. */
  fetchRun(runId: string, runDir: string): Promise<boolean>;
  /** The ids of the runs in the store. */
  listRuns(): Promise<string[]>;
  /** Copies an image file into the store under its content hash; returns the key. */
  putImage(path: string): Promise<string>;
  /** The stored image `key` as a local file under `cacheDir` (downloaded once). */
  getImage(key: string, cacheDir: string): Promise<string>;
}

/**
 * A run copied from the store holds this file, naming what was copied: its presence means the
 * copy is whole (it is written last, after the files are in place).
 */
export const PUBLISHED_MARKER = '.published.json';

export interface PublishedRun {
  runId: string;
  files: string[];
  publishedAt: string;
}

/**
 * Puts a fetched run in place as a whole: `download` writes each file under the staging
 * directory it is given (through `stagedPath`, which refuses a path leaving it); the staging
 * directory then replaces `runDir`, so a partial download never looks like a run.
 */
export async function installFetchedRun(
  runDir: string,
  published: PublishedRun,
  download: (stagedPath: (relative: string) => string) => Promise<void>,
): Promise<void> {
  const staging = `${runDir}.fetch-${process.pid}-${Date.now().toString(36)}`;
  const stagedPath = (relative: string) => {
    const target = join(staging, relative);
    if (!target.startsWith(`${staging}/`)) {
      throw new CanarytrapError(
        'store-invalid',
        `the stored run ${published.runId} names a file outside its directory: ${relative}`,
        { permanent: true },
      );
    }
    return target;
  };
  try {
    await mkdir(staging, { recursive: true });
    await download(stagedPath);
    await writeFile(join(staging, PUBLISHED_MARKER), `${JSON.stringify(published)}\n`);
    await rm(runDir, { recursive: true, force: true });
    await rename(staging, runDir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
