import { execa } from 'execa';
import { Redis } from 'ioredis';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CanarytrapError } from '../errors.ts';
import { withFileLock } from '../host/file-lock.ts';
import { pollUntil } from '../host/poll.ts';
import { freePort, portFree } from '../host/ports.ts';
import { processAlive } from '../host/processes.ts';
import type { Logger } from '../log.ts';
import { writeJsonAtomic } from '../host/fs.ts';
import { pingRedis } from './redis-server.ts';

/**
 * The queue's Redis when none is configured: one redis-server per data root, its data in
 * `<dataRoot>/redis/` with the append-only file on, so queued and running jobs outlive any
 * process. It runs in a session of its own (a Ctrl-C in a worker's terminal does not reach it)
 * and is always recorded in `<dataRoot>/redis.json` while it runs: a worker, `serve` or the demo
 * reuses a running one, restarts a dead one on the same directory (its jobs come back), and the
 * last of them to stop shuts it down.
 */
export interface EmbeddedRedisRecord {
  url: string;
  port: number;
  /** The redis-server's own pid. */
  pid: number;
  dir: string;
  startedAt: string;
}

export interface EmbeddedRedis {
  url: string;
  record: EmbeddedRedisRecord;
  /** True when this call started it (it was not running). */
  started: boolean;
  /**
   * Leaves it: shuts it down (its data stays in the AOF) when no other client is connected, or
   * leaves it running and recorded for the processes still using it. Close this process's own
   * queue connections first, or they count as users.
   */
  release(): Promise<'stopped' | 'kept'>;
}

export interface EmbeddedRedisOptions {
  /** Default `redis-server` on PATH. */
  binary?: string;
  /** How long to wait for PONG after a start. Default 15 s (a long AOF takes time to load). */
  readyTimeoutMs?: number;
  logger?: Logger;
}

export function embeddedRedisPaths(dataRoot: string): {
  dir: string;
  record: string;
  lock: string;
  log: string;
} {
  const dir = join(dataRoot, 'redis');
  return {
    dir,
    record: join(dataRoot, 'redis.json'),
    lock: join(dataRoot, 'redis.lock'),
    log: join(dir, 'redis.log'),
  };
}

/** The recorded embedded Redis if it is running and answers; undefined otherwise. */
export async function runningEmbeddedRedis(
  dataRoot: string,
): Promise<EmbeddedRedisRecord | undefined> {
  const record = await readRecord(embeddedRedisPaths(dataRoot).record);
  if (!record || !(await isRedisProcess(record.pid))) return undefined;
  return (await pingRedis(record.port)) ? record : undefined;
}

/** Finds the data root's running Redis or starts it (again) on its directory. */
export async function ensureEmbeddedRedis(
  dataRoot: string,
  options: EmbeddedRedisOptions = {},
): Promise<EmbeddedRedis> {
  const paths = embeddedRedisPaths(dataRoot);
  await mkdir(paths.dir, { recursive: true });
  const { record, started } = await withFileLock(paths.lock, () => findOrStart(paths, options), {
    what: 'the lock of the embedded Redis',
  });
  if (started)
    options.logger?.info({ url: record.url, dir: record.dir }, 'started the embedded Redis');
  // A connection of our own, opened before anyone can see us leave: while it is open, another
  // process's release() counts this one as a user and leaves the server running.
  const presence = new Redis(record.url, { maxRetriesPerRequest: 1, lazyConnect: true });
  presence.on('error', () => undefined);
  await presence.connect();
  await presence.client('SETNAME', `canarytrap-${process.pid}`);
  let released: Promise<'stopped' | 'kept'> | undefined;
  return {
    url: record.url,
    record,
    started,
    release: () =>
      (released ??= withFileLock(paths.lock, () => leave(presence, record, paths.record), {
        what: 'the lock of the embedded Redis',
      })),
  };
}

async function findOrStart(
  paths: ReturnType<typeof embeddedRedisPaths>,
  options: EmbeddedRedisOptions,
): Promise<{ record: EmbeddedRedisRecord; started: boolean }> {
  const recorded = await readRecord(paths.record);
  if (recorded && (await isRedisProcess(recorded.pid))) {
    // Running: it answers now, or once it has loaded its append-only file.
    await waitForPong(recorded.port, options.readyTimeoutMs ?? 15_000, {
      code: 'redis-unresponsive',
      message: `the embedded Redis (pid ${recorded.pid}, ${recorded.url}) runs but does not answer`,
      hint: `see ${paths.log}; stop that process and the next start restarts it on the same data`,
    });
    return { record: recorded, started: false };
  }
  // Not running (never started, stopped, or killed): start it on the same directory, on its old
  // port where that is free, so clients holding the old URL find it again.
  const port =
    recorded && (await portFree(recorded.port)) ? recorded.port : await freePort('127.0.0.1');
  const record = await start(paths, port, options);
  await writeJsonAtomic(paths.record, record);
  return { record, started: true };
}

async function start(
  paths: ReturnType<typeof embeddedRedisPaths>,
  port: number,
  options: EmbeddedRedisOptions,
): Promise<EmbeddedRedisRecord> {
  const binary = options.binary ?? 'redis-server';
  // prettier-ignore
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', paths.dir,
    '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '',
    '--logfile', paths.log, '--daemonize', 'no',
  ];
  let child;
  try {
    child = execa(binary, args, {
      detached: true,
      stdio: 'ignore',
      cleanup: false,
      reject: false,
    });
  } catch (cause) {
    throw new CanarytrapError('redis-missing', `could not start ${binary}`, {
      cause,
      hint: 'install it (apt-get install redis-server) or set CANARYTRAP_REDIS_URL',
    });
  }
  const exited = child;
  const missing = await Promise.race([
    exited.then((result) => result),
    new Promise<undefined>((resolve) => setTimeout(resolve, 50)),
  ]);
  if (missing?.failed && missing.exitCode === undefined) {
    throw new CanarytrapError(
      'redis-missing',
      `could not start ${binary}: ${missing.shortMessage}`,
      {
        hint: 'install it (apt-get install redis-server) or set CANARYTRAP_REDIS_URL',
      },
    );
  }
  try {
    await pollUntil({
      what: `the embedded Redis on port ${port}`,
      probe: () => pingRedis(port),
      timeoutMs: options.readyTimeoutMs ?? 15_000,
      setting: 'readyTimeoutMs',
      intervalMs: 50,
      giveUp: () =>
        exited.exitCode === null
          ? undefined
          : new CanarytrapError(
              'redis-start-failed',
              `redis-server exited with code ${exited.exitCode} before answering`,
              { hint: `its log says why: ${paths.log}` },
            ),
      timeout: {
        code: 'redis-start-timeout',
        hint: `see ${paths.log}, or set CANARYTRAP_REDIS_URL`,
      },
    });
  } catch (error) {
    if (exited.exitCode === null) exited.kill('SIGKILL');
    throw error;
  }
  // It belongs to the data root now, not to this process: nothing here waits for it.
  exited.unref();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: exited.pid ?? 0,
    dir: paths.dir,
    startedAt: new Date().toISOString(),
  };
}

async function leave(
  presence: Redis,
  record: EmbeddedRedisRecord,
  recordPath: string,
): Promise<'stopped' | 'kept'> {
  try {
    const list = String(await presence.client('LIST'));
    const others = list.split('\n').filter((line) => line.trim() !== '').length - 1;
    if (others > 0) return 'kept';
    // SHUTDOWN flushes the append-only file; the server closes our connection as it goes.
    await presence.call('SHUTDOWN').catch(() => undefined);
  } finally {
    presence.disconnect();
  }
  await pollUntil({
    what: `the embedded Redis (pid ${record.pid}) to exit`,
    probe: async () => !(await isRedisProcess(record.pid)),
    timeoutMs: 10_000,
    setting: 'a shorter AOF',
    intervalMs: 50,
  });
  await rm(recordPath, { force: true });
  return 'stopped';
}

async function waitForPong(
  port: number,
  timeoutMs: number,
  timeout: { code: string; message: string; hint: string },
): Promise<void> {
  await pollUntil({
    what: `Redis on port ${port}`,
    probe: () => pingRedis(port),
    timeoutMs,
    setting: 'readyTimeoutMs',
    intervalMs: 100,
    timeout,
  });
}

async function readRecord(path: string): Promise<EmbeddedRedisRecord | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<EmbeddedRedisRecord>;
    if (typeof value.pid === 'number' && typeof value.port === 'number' && value.url)
      return value as EmbeddedRedisRecord;
  } catch {
    // A torn record is the same as none: the server it named is found dead or alive by pid.
  }
  return undefined;
}

/** Alive and a redis-server: a recycled pid of another program is not our server. */
async function isRedisProcess(pid: number): Promise<boolean> {
  if (!processAlive(pid)) return false;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  // A zombie (killed, not yet reaped by its parent) has an empty command line: it is dead.
  return cmdline !== undefined && cmdline.includes('redis-server');
}
