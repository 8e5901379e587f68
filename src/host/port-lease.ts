import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CanarytrapError } from '../errors.ts';
import { portFree } from './ports.ts';
import { processAlive } from './processes.ts';

/**
 * Console/adb port pairs leased across every process on this host, so several workers never
 * boot two devices on one port. A lease is a lock file created with O_EXCL holding the owner's
 * pid. Leases whose owner died (a worker killed with SIGKILL) are removed whenever a new lease
 * is taken, not only when their own port comes up, so none stays behind.
 */
export interface PortLease extends AsyncDisposable {
  readonly consolePort: number;
  readonly adbPort: number;
  release(): Promise<void>;
}

export interface LeaseOptions {
  /** Where lock files live. Default `<tmpdir>/canarytrap-port-leases`. */
  lockDir?: string;
  /** First even console port to try. The emulator accepts 5554–5682. */
  first?: number;
  last?: number;
}

export function defaultLockDir(): string {
  return join(tmpdir(), 'canarytrap-port-leases');
}

export async function leaseConsolePorts(options: LeaseOptions = {}): Promise<PortLease> {
  const lockDir = options.lockDir ?? defaultLockDir();
  const first = options.first ?? 5554;
  const last = options.last ?? 5682;
  await mkdir(lockDir, { recursive: true });
  await removeStaleLocks(lockDir);
  for (let port = first; port + 1 <= last + 1; port += 2) {
    const lockPath = join(lockDir, `${port}.lock`);
    if (!(await tryLock(lockPath))) continue;
    if (!((await portFree(port)) && (await portFree(port + 1)))) {
      await rm(lockPath, { force: true });
      continue;
    }
    let released: Promise<void> | undefined;
    const release = () => (released ??= rm(lockPath, { force: true }));
    return { consolePort: port, adbPort: port + 1, release, [Symbol.asyncDispose]: release };
  }
  throw new CanarytrapError(
    'ports-exhausted',
    `no free console port pair between ${first} and ${last}`,
    {
      hint: `too many devices on this host; lower worker concurrency or remove stale locks in ${lockDir}`,
    },
  );
}

async function tryLock(lockPath: string): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!(await lockIsStale(lockPath))) return false;
      await rm(lockPath, { force: true });
    }
  }
  return false;
}

/** How long a lock file may stay empty: its owner writes its pid right after creating it. */
const EMPTY_LOCK_GRACE_MS = 5_000;

/**
 * A lock is stale when its owner is dead, or when it stayed empty past the grace period (the
 * owner died between creating it and writing its pid). A young empty lock is being taken now.
 */
async function lockIsStale(lockPath: string): Promise<boolean> {
  const text = await readFile(lockPath, 'utf8').catch(() => undefined);
  // Gone already: nothing to take over, and retrying the O_EXCL create is safe.
  if (text === undefined) return true;
  const owner = Number(text.trim());
  if (Number.isInteger(owner) && owner > 0) return !processAlive(owner);
  const info = await stat(lockPath).catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs > EMPTY_LOCK_GRACE_MS;
}

async function removeStaleLocks(lockDir: string): Promise<void> {
  for (const name of await readdir(lockDir)) {
    if (!/^\d+\.lock$/.test(name)) continue;
    const lockPath = join(lockDir, name);
    if (await lockIsStale(lockPath)) await rm(lockPath, { force: true });
  }
}
