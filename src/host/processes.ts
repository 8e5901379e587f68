import type { ResultPromise } from 'execa';

/** SIGTERM, then SIGKILL after a grace period; resolves once the process is reaped. */
export async function stopProcess(
  child: ResultPromise,
  options: { graceMs: number },
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    await child.catch(() => undefined);
    return;
  }
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.graceMs);
  await child.catch(() => undefined);
  clearTimeout(timer);
}

/** Whether a process with this pid exists (EPERM: it does, owned by another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
