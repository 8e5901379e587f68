import { open, readFile, unlink } from 'node:fs/promises';
import { pollUntil } from './poll.ts';
import { processAlive } from './processes.ts';

/**
 * Runs `work` while holding a lock file that only one process on this host can hold: created
 * exclusively, holding the holder's pid. A lock whose holder has died (SIGKILL) is taken over,
 * so a crash never wedges the next start. Processes on other hosts are not excluded: the lock is
 * for things of one host, such as the embedded Redis of a data root.
 */
export async function withFileLock<T>(
  path: string,
  work: () => Promise<T>,
  options: { what: string; timeoutMs?: number } = { what: 'a lock' },
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  await pollUntil({
    what: `${options.what} (${path})`,
    probe: () => tryLock(path),
    timeoutMs,
    setting: 'timeoutMs',
    intervalMs: 100,
    timeout: {
      code: 'lock-timeout',
      hint: `another canarytrap process holds ${path}; wait for it, or remove the file if no canarytrap process is running`,
    },
  });
  try {
    return await work();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}

async function tryLock(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx');
    await handle.writeFile(String(process.pid));
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  // An empty file is a holder between open and write: wait for it, unless it stays empty.
  if (Number.isInteger(holder) && holder > 0 && !processAlive(holder)) {
    await unlink(path).catch(() => undefined);
  }
  return false;
}
