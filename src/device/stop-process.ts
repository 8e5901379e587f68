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
