import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config, StoreLocation } from '../config.ts';
import { runDirFor } from './run-dir.ts';
import { PUBLISHED_MARKER, type RunStore } from './stored-run.ts';

/** The stores of this process, by data root: readers find theirs from the data root alone. */
const stores = new Map<string, RunStore>();

/**
 * The run store a configuration names, registered for its data root. The S3 client is loaded
 * only for an S3 store, so commands that never use one do not pay for loading it.
 */
export async function openRunStore(
  config: Pick<Config, 'dataRoot' | 'store'>,
): Promise<RunStore | undefined> {
  if (config.store.kind === 'data-root') {
    stores.delete(config.dataRoot);
    return undefined;
  }
  const existing = stores.get(config.dataRoot);
  if (existing && sameLocation(existing.location, config.store)) return existing;
  const { S3RunStore } = await import('./s3-run-store.ts');
  const store = new S3RunStore(config.store);
  stores.set(config.dataRoot, store);
  return store;
}

/**
 * A run that has ended on this worker, copied to the shared store and removed here: the host
 * keeps nothing a user needs. False when the data root is the store (nothing to do).
 */
export async function publishFinishedRun(
  config: Pick<Config, 'dataRoot' | 'store'>,
  runId: string,
  runDir: string,
): Promise<boolean> {
  const store = await openRunStore(config);
  if (!store) return false;
  await store.publishRun(runId, runDir);
  await rm(runDir, { recursive: true, force: true });
  return true;
}

/** The store registered for a data root (undefined: the data root is the store). */
export function registeredRunStore(dataRoot: string): RunStore | undefined {
  return stores.get(dataRoot);
}

function sameLocation(a: StoreLocation, b: StoreLocation): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const fetching = new Map<string, Promise<boolean>>();

/**
 * Before a run is read on this host: its directory fetched from the shared store when there is
 * one and no whole local copy yet. A run the store does not have is left alone (it may be
 * running, or unknown, which the reader then says).
 */
export async function ensureRunLocal(dataRoot: string, runId: string): Promise<void> {
  const store = stores.get(dataRoot);
  if (!store) return;
  const runDir = runDirFor(dataRoot, runId);
  if (await isWholeCopy(runDir)) return;
  let pending = fetching.get(runDir);
  if (!pending) {
    pending = store.fetchRun(runId, runDir).finally(() => fetching.delete(runDir));
    fetching.set(runDir, pending);
  }
  await pending;
}

async function isWholeCopy(runDir: string): Promise<boolean> {
  return readFile(join(runDir, PUBLISHED_MARKER), 'utf8').then(
    () => true,
    () => false,
  );
}
