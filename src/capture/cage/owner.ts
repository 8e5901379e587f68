import { readFile } from 'node:fs/promises';

/**
 * A process as a lock file names it: the pid alone is not enough, because after a reboot or a
 * long uptime the pid of a dead owner may belong to an unrelated live process. The start time
 * (field 22 of /proc/<pid>/stat, clock ticks since boot) tells the two apart.
 */
export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

export async function currentProcess(): Promise<ProcessIdentity> {
  const startTime = await startTimeOf(process.pid);
  if (startTime === undefined) throw new Error('cannot read /proc/self/stat');
  return { pid: process.pid, startTime };
}

/** Whether the very process named (same pid, same start) is still running. */
export async function isAlive(owner: ProcessIdentity): Promise<boolean> {
  return (await startTimeOf(owner.pid)) === owner.startTime;
}

/** The start time of a running process; undefined when it is gone or a zombie awaiting reaping. */
export async function startTimeOf(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat === undefined ? undefined : parseStartTime(stat);
}

/**
 * Field 22 of a /proc/<pid>/stat line, or undefined for a zombie (state Z or X): it runs no
 * more code, so it holds nothing. The command name in field 2 may contain spaces and `)`.
 */
export function parseStartTime(stat: string): string | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  const startTime = fields[19];
  return startTime !== undefined && /^\d+$/.test(startTime) ? startTime : undefined;
}

/** The identity written in a lock or record file, or undefined when it is not one. */
export function parseIdentity(value: unknown): ProcessIdentity | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, startTime } = value as Record<string, unknown>;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
  if (typeof startTime !== 'string' || !/^\d+$/.test(startTime)) return undefined;
  return { pid, startTime };
}
