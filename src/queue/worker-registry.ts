import type { Redis } from 'ioredis';
import { hostname } from 'node:os';
import { CAPABILITIES, type Capability, type LaneName } from './lanes.ts';

/**
 * Every connected worker announces itself under `<prefix>:workers:<id>` with what it can run.
 * The key expires unless renewed, so a worker that dies (even by SIGKILL) drops out of the
 * registry within one expiry, and a job it could run alone is shown as waiting again.
 */
export interface WorkerAdvert {
  id: string;
  host: string;
  pid: number;
  capabilities: Capability[];
  lanes: LaneName[];
  /** Analyses it runs at once (bounded by the host's memory, see host-capabilities.ts). */
  slots: number;
  /** Analyses running on it now. */
  running: number;
  /** Free memory when last renewed, MiB. */
  freeMemoryMiB: number;
  /** Why a capability is missing, for people (`kvm: ANDROID_HOME is not set`). */
  missing: Record<string, string>;
  startedAt: string;
}

/** How often a worker renews its advert; it expires after three missed renewals. */
export const ADVERT_RENEW_MS = 5_000;
const ADVERT_TTL_MS = 3 * ADVERT_RENEW_MS;

function advertKey(prefix: string, id: string): string {
  return `${prefix}:workers:${id}`;
}

export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${Date.now().toString(36)}`;
}

export interface Advertiser {
  /** Renews now, with the current counts (after a run starts or ends). */
  renew(): Promise<void>;
  /** Removes the advert: the worker is leaving. */
  withdraw(): Promise<void>;
}

/**
 * Keeps a worker's advert alive until withdrawn. `current` is read at each renewal; a failed
 * renewal (Redis restarting) is reported and retried at the next tick, never thrown.
 */
export function advertiseWorker(
  connection: Redis,
  prefix: string,
  current: () => WorkerAdvert,
  onError: (error: unknown) => void,
): Advertiser {
  let withdrawn = false;
  const renew = async () => {
    if (withdrawn) return;
    const advert = current();
    await connection
      .set(advertKey(prefix, advert.id), JSON.stringify(advert), 'PX', ADVERT_TTL_MS)
      .catch(onError);
  };
  const timer = setInterval(() => void renew(), ADVERT_RENEW_MS);
  timer.unref();
  void renew();
  return {
    renew,
    withdraw: async () => {
      withdrawn = true;
      clearInterval(timer);
      await connection.del(advertKey(prefix, current().id)).catch(onError);
    },
  };
}

/** The workers connected now (adverts not expired), oldest first. Unreadable adverts are skipped. */
export async function connectedWorkers(connection: Redis, prefix: string): Promise<WorkerAdvert[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await connection.scan(
      cursor,
      'MATCH',
      advertKey(prefix, '*'),
      'COUNT',
      200,
    );
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await connection.mget(...keys);
  return values
    .flatMap((value) => {
      const advert = value ? parseAdvert(value) : undefined;
      return advert ? [advert] : [];
    })
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

function parseAdvert(text: string): WorkerAdvert | undefined {
  try {
    const value = JSON.parse(text) as Partial<WorkerAdvert>;
    if (typeof value.id !== 'string' || !Array.isArray(value.capabilities)) return undefined;
    return {
      ...(value as WorkerAdvert),
      // An advert from a newer version may name capabilities this one does not know.
      capabilities: value.capabilities.filter((c): c is Capability =>
        (CAPABILITIES as readonly string[]).includes(c),
      ),
    };
  } catch {
    return undefined;
  }
}
