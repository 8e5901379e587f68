import { readdir } from 'node:fs/promises';
import { addressingFor, CAGE_INDEX_COUNT } from './addressing.ts';
import { DEFAULT_COMMAND_TIMEOUT_MS } from './command.ts';
import {
  DEFAULT_CAGE_LOCK_DIR,
  leaseOf,
  lockState,
  removeRelaySockets,
  takeIndex,
} from './lease.ts';
import { currentProcess, isAlive, type ProcessIdentity } from './owner.ts';
import { readRecords, removeRecord } from './records.ts';
import { listCageParts, removeCageParts } from './residue.ts';
import type { SweepOptions, SweptCage } from './types.ts';

/**
 * Removes the cages whose owner is gone: those whose lease or record names a dead process, and
 * cage namespaces, interfaces and tables that no lease covers at all. A cage is only touched
 * after its index lease has been taken over, so a sweep never races a worker creating a cage.
 */
export async function sweepCages(options: SweepOptions): Promise<SweptCage[]> {
  const lockDir = options.lockDir ?? DEFAULT_CAGE_LOCK_DIR;
  const timeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const me = await currentProcess();
  const records = new Map((await readRecords(options.stateDir)).map((r) => [r.index, r.owner]));
  const parts = await listCageParts(timeoutMs);
  const candidates = new Set([
    ...records.keys(),
    ...parts.netns,
    ...parts.interfaces,
    ...parts.tables,
    ...(await lockedIndices(lockDir)),
  ]);
  const swept: SweptCage[] = [];
  for (const index of [...candidates].sort((a, b) => a - b)) {
    const result = await sweepOne(index, records.get(index), records.has(index), {
      lockDir,
      stateDir: options.stateDir,
      timeoutMs,
      me,
      logger: options.logger,
    });
    if (result) swept.push(result);
  }
  if (swept.length > 0) options.logger.info({ swept }, 'removed cages of dead owners');
  return swept;
}

interface SweepContext {
  lockDir: string;
  stateDir: string;
  timeoutMs: number;
  me: ProcessIdentity;
  logger: SweepOptions['logger'];
}

async function sweepOne(
  index: number,
  recordOwner: ProcessIdentity | undefined,
  hasRecord: boolean,
  context: SweepContext,
): Promise<SweptCage | undefined> {
  const lock = await lockState(context.lockDir, index);
  const recordDead = hasRecord && !(recordOwner && (await isAlive(recordOwner)));
  const removed: SweptCage['removed'] = [];
  const a = addressingFor(index);
  if (lock === 'held') {
    // The index belongs to a live worker now; only a record of ours naming a dead owner is stale.
    if (!recordDead) return undefined;
    await removeRecord(context.stateDir, index);
    return { index, netns: a.netns, reason: 'owner-dead', removed: ['record'] };
  }
  // A record whose owner lives but holds no lease here: its worker uses another lock dir.
  if (hasRecord && !recordDead) return undefined;
  if (!(await takeIndex(context.lockDir, index, context.me))) return undefined;
  const lease = leaseOf(context.lockDir, index);
  try {
    removed.push(...(await removeCageParts(a, context.timeoutMs, context.logger)));
    // Relays died with their owner or just above (they run inside); their sockets stay on disk.
    if (await removeRelaySockets(context.lockDir, index)) removed.push('relays');
    if (hasRecord) {
      await removeRecord(context.stateDir, index);
      removed.push('record');
    }
  } finally {
    await lease.release();
  }
  if (lock === 'stale') removed.push('lease');
  if (removed.length === 0) return undefined;
  return {
    index,
    netns: a.netns,
    reason: lock === 'stale' || hasRecord ? 'owner-dead' : 'no-owner',
    removed,
  };
}

/** Indices with a lease file or a relay socket directory under the lock dir. */
async function lockedIndices(lockDir: string): Promise<number[]> {
  const names = await readdir(lockDir).catch(() => []);
  return names
    .map((name) => /^(\d+)\.(?:lock|relays)$/.exec(name)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .filter((n) => n < CAGE_INDEX_COUNT);
}
