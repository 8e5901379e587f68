import { execa } from 'execa';
import { access, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startTimeOf } from '../../src/capture/cage/owner.ts';

/**
 * What a device run may leave behind, looked up from outside: lab-phone processes (by their
 * command line in /proc), port pairs (by binding them), lease lock files, and cages (their
 * namespace, link and nftables table, and the processes in and around them).
 */
export interface LabPhoneProcess {
  pid: number;
  consolePort: number;
  /** The `--work-dir` it was given: the launcher's temp dir for it. */
  workDir: string | undefined;
  /** The adb server it registered with: tells apart the phones of parallel test worlds. */
  adbServerPort: number | undefined;
}

/** Every running lab phone (`src/lab/main.ts`), optionally only those on the given console ports. */
export async function findLabPhoneProcesses(
  consolePorts?: ReadonlySet<number>,
): Promise<LabPhoneProcess[]> {
  const found: LabPhoneProcess[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    // A process may exit between readdir and readFile: that is not an error here.
    const raw = await readFile(join('/proc', entry, 'cmdline'), 'utf8').catch(() => '');
    const args = raw.split('\0');
    if (!args.some((a) => a.endsWith('src/lab/main.ts'))) continue;
    const consolePort = Number(argAfter(args, '--console-port'));
    if (consolePorts && !consolePorts.has(consolePort)) continue;
    const adbServerPort = argAfter(args, '--adb-server-port');
    found.push({
      pid: Number(entry),
      consolePort,
      workDir: argAfter(args, '--work-dir'),
      adbServerPort: adbServerPort === undefined ? undefined : Number(adbServerPort),
    });
  }
  return found;
}

function argAfter(args: string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
}

export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port }, () => server.close(() => resolve(true)));
  });
}

/**
 * Whether a lab phone's console/adb port pair is released by that phone: bindable, or taken
 * since by another lab phone (other test files lease the same default range meanwhile).
 */
export async function pairReleased(consolePort: number, pid: number): Promise<boolean> {
  if ((await canBind(consolePort)) && (await canBind(consolePort + 1))) return true;
  const holders = await findLabPhoneProcesses(new Set([consolePort]));
  return holders.length > 0 && holders.every((p) => p.pid !== pid);
}

/** Polls until `check` holds or `timeoutMs` passes; resolves with whether it held. */
export async function eventually(
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Entries of `dir` whose names start with one of `prefixes` (none when `dir` is missing). */
export async function entriesStartingWith(dir: string, prefixes: string[]): Promise<string[]> {
  const names = await readdir(dir).catch(() => []);
  return names.filter((name) => prefixes.some((p) => name.startsWith(p)));
}

/**
 * Appium servers (and their guards) started by canarytrap, found by command line; with a port,
 * only the one listening there.
 */
export async function findAppiumProcesses(
  port?: number,
): Promise<Array<{ pid: number; args: string[] }>> {
  const found: Array<{ pid: number; args: string[] }> = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const raw = await readFile(join('/proc', entry, 'cmdline'), 'utf8').catch(() => '');
    const args = raw.split('\0');
    const appium = (a: string) =>
      a.endsWith('appium/index.js') ||
      a.endsWith('.bin/appium') ||
      a.endsWith('src/ui/appium-guard.ts');
    if (!args.some(appium)) continue;
    if (port !== undefined && argAfter(args, '--port') !== String(port)) continue;
    found.push({ pid: Number(entry), args });
  }
  return found;
}

/** A process as seen once: its start time tells it apart from a later process with the same pid. */
export interface SeenProcess {
  pid: number;
  startTime: string;
  args: string[];
}

/**
 * The host-global parts of the cage at `index`, as `ip netns list`, `ip -o link` and
 * `nft list tables` show them, each with what tells it apart from a later cage at the same index
 * (the namespace's inode, the link's ifindex, the table's handle).
 */
export interface CageParts {
  index: number;
  netns?: { name: string; inode: number };
  link?: { name: string; ifindex: number };
  table?: { name: string; handle: number };
}

export async function cagePartsAt(index: number): Promise<CageParts> {
  const parts: CageParts = { index };
  const netnsName = `canarytrap-${index}`;
  const namespaces = (await execa('ip', ['netns', 'list'])).stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0]);
  if (namespaces.includes(netnsName)) {
    const info = await stat(`/run/netns/${netnsName}`).catch(() => undefined);
    if (info) parts.netns = { name: netnsName, inode: info.ino };
  }
  const linkName = `ctc${index}h`;
  for (const line of (await execa('ip', ['-o', 'link'])).stdout.split('\n')) {
    // `77: ctc0h@if2: <BROADCAST,…`
    const match = /^(\d+):\s+([^:@\s]+)/.exec(line);
    if (match?.[2] === linkName) parts.link = { name: linkName, ifindex: Number(match[1]) };
  }
  const tableName = `canarytrap_${index}`;
  const tables = JSON.parse((await execa('nft', ['-j', 'list', 'tables'])).stdout) as {
    nftables: Array<{ table?: { family: string; name: string; handle: number } }>;
  };
  for (const { table } of tables.nftables) {
    if (table?.family === 'ip' && table.name === tableName) {
      parts.table = { name: tableName, handle: table.handle };
    }
  }
  return parts;
}

/** The parts of `before` still present now: same name and the same inode, ifindex or handle. */
export async function cagePartsRemaining(before: CageParts): Promise<string[]> {
  const now = await cagePartsAt(before.index);
  const remaining: string[] = [];
  if (before.netns && now.netns?.inode === before.netns.inode) {
    remaining.push(`namespace ${before.netns.name}`);
  }
  if (before.link && now.link?.ifindex === before.link.ifindex) {
    remaining.push(`link ${before.link.name}`);
  }
  if (before.table && now.table?.handle === before.table.handle) {
    remaining.push(`nftables table ${before.table.name}`);
  }
  return remaining;
}

/**
 * The processes of the cage at `index`: those inside its namespace (`ip netns pids`: the device,
 * the relays) and the edge recorder on its host-side link.
 */
export async function cageProcesses(index: number): Promise<SeenProcess[]> {
  const inside = await execa('ip', ['netns', 'pids', `canarytrap-${index}`], { reject: false });
  const pids = new Set(
    inside.stdout
      .split('\n')
      .map(Number)
      .filter((pid) => Number.isInteger(pid) && pid > 0),
  );
  const found: SeenProcess[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const args = (await readFile(join('/proc', entry, 'cmdline'), 'utf8').catch(() => ''))
      .split('\0')
      .filter(Boolean);
    const recorder = args[0]?.endsWith('dumpcap') && argAfter(args, '-i') === `ctc${index}h`;
    if (!pids.has(pid) && !recorder) continue;
    const startTime = await startTimeOf(pid);
    if (startTime !== undefined) found.push({ pid, startTime, args });
  }
  return found;
}

/** Those of `processes` that still run (same pid, same start time). */
export async function stillRunning(processes: readonly SeenProcess[]): Promise<SeenProcess[]> {
  const running: SeenProcess[] = [];
  for (const p of processes) if ((await startTimeOf(p.pid)) === p.startTime) running.push(p);
  return running;
}

/** The owner pid written in a cage's lock or record file (`{ owner: … }` or the identity itself). */
export async function ownerPidIn(path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as { pid?: unknown; owner?: { pid?: unknown } };
    const pid = value.owner?.pid ?? value.pid;
    return typeof pid === 'number' ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The pids of running redis-servers whose data directory lies under `root` (zombies excluded).
 * Redis rewrites its command line to `redis-server 127.0.0.1:<port>` and works in its `--dir`,
 * so the directory is read from its cwd.
 */
export async function redisServersUnder(root: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(join('/proc', entry, 'cmdline'), 'utf8').catch(() => '');
    if (!cmdline.startsWith('redis-server')) continue;
    const dir = await readlink(join('/proc', entry, 'cwd')).catch(() => '');
    if (dir === root || dir.startsWith(`${root}/`)) found.push(Number(entry));
  }
  return found.sort((a, b) => a - b);
}
