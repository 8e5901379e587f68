import { access, readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * What a device run may leave behind, looked up from outside: lab-phone processes (by their
 * command line in /proc), port pairs (by binding them) and lease lock files.
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
