import { access, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CanarytrapError } from '../../errors.ts';
import { CAGE_INDEX_COUNT } from './addressing.ts';
import { isAlive, parseIdentity, type ProcessIdentity } from './owner.ts';

/**
 * Cage indices are leased host-wide, not per data root: namespace, interface and table names
 * are global to the host, so two workers with different data roots must still never share one.
 */
export const DEFAULT_CAGE_LOCK_DIR = '/run/canarytrap/cages';

/** How long a lock file may stay empty: its owner writes its identity right after creating it. */
const EMPTY_LOCK_GRACE_MS = 5_000;

export interface CageLease {
  readonly index: number;
  release(): Promise<void>;
}

export type LockState = 'absent' | 'held' | 'stale';

export function lockPath(lockDir: string, index: number): string {
  return join(lockDir, `${index}.lock`);
}

/**
 * Where the Unix sockets of a cage's relays live: next to its lease, by index, so a sweep that
 * takes the lease over finds and removes them even when their owner was killed.
 */
export function relaySocketDir(lockDir: string, index: number): string {
  return join(lockDir, `${index}.relays`);
}

/** Removes a cage's relay socket directory; resolves with whether there was one. */
export async function removeRelaySockets(lockDir: string, index: number): Promise<boolean> {
  const dir = relaySocketDir(lockDir, index);
  const present = await access(dir).then(
    () => true,
    () => false,
  );
  await rm(dir, { recursive: true, force: true });
  return present;
}

/** The lowest free index, locked with an O_EXCL file holding `owner`. */
export async function leaseCageIndex(lockDir: string, owner: ProcessIdentity): Promise<CageLease> {
  await mkdir(lockDir, { recursive: true, mode: 0o700 });
  for (let index = 0; index < CAGE_INDEX_COUNT; index++) {
    if (await takeIndex(lockDir, index, owner)) return leaseOf(lockDir, index);
  }
  throw new CanarytrapError(
    'cage-indices-exhausted',
    `all ${CAGE_INDEX_COUNT} cage indices are leased`,
    {
      hint: `lower the worker concurrency, or run a worker start to sweep cages of dead workers out of ${lockDir}`,
    },
  );
}

/** Takes `index` if its lock is absent or stale; false when a live process holds it. */
export async function takeIndex(
  lockDir: string,
  index: number,
  owner: ProcessIdentity,
): Promise<boolean> {
  const path = lockPath(lockDir, index);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify(owner));
      } finally {
        await handle.close();
      }
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if ((await lockState(lockDir, index)) === 'held') return false;
      await rm(path, { force: true });
    }
  }
  return false;
}

export function leaseOf(lockDir: string, index: number): CageLease {
  let released: Promise<void> | undefined;
  return { index, release: () => (released ??= rm(lockPath(lockDir, index), { force: true })) };
}

/**
 * `stale` when the owner named in the lock is dead, or when the lock stayed empty past the
 * grace period (its owner died between creating and writing it). A young empty lock is being
 * taken right now, so it counts as held.
 */
export async function lockState(lockDir: string, index: number): Promise<LockState> {
  const path = lockPath(lockDir, index);
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return 'absent';
  const owner = parseIdentity(parseJson(text));
  if (owner) return (await isAlive(owner)) ? 'held' : 'stale';
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) return 'absent';
  return Date.now() - info.mtimeMs > EMPTY_LOCK_GRACE_MS ? 'stale' : 'held';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
