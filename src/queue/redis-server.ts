import { execa, type ResultPromise } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CanarytrapError } from '../errors.ts';
import { pollUntil } from '../host/poll.ts';
import { freePort } from '../host/ports.ts';

/** A redis-server of our own on a free loopback port, for when no Redis is configured. */
export interface PrivateRedis extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Default `redis-server` on PATH. */
  binary?: string;
  /** How long to wait for PONG. Default 10 s. */
  readyTimeoutMs?: number;
}

export async function startPrivateRedis(options: StartRedisOptions = {}): Promise<PrivateRedis> {
  const binary = options.binary ?? 'redis-server';
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'canarytrap-redis-'));
  let child: ResultPromise;
  try {
    child = execa(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { reject: false, stdio: 'ignore', cleanup: true },
    );
  } catch (cause) {
    await rm(dir, { recursive: true, force: true });
    throw new CanarytrapError('redis-missing', `could not start ${binary}`, {
      cause,
      hint: 'install it (apt-get install redis-server) or set CANARYTRAP_REDIS_URL',
    });
  }
  const started = child;
  try {
    await pollUntil({
      what: `redis-server on port ${port}`,
      probe: () => pingRedis(port),
      timeoutMs: readyTimeoutMs,
      setting: 'readyTimeoutMs',
      intervalMs: 50,
      giveUp: () =>
        started.exitCode === null
          ? undefined
          : new CanarytrapError(
              'redis-start-failed',
              `${binary} exited with code ${started.exitCode} before answering`,
              { hint: 'run it by hand to see why, or set CANARYTRAP_REDIS_URL' },
            ),
      timeout: {
        code: 'redis-start-timeout',
        message: `redis-server did not answer on port ${port} within ${readyTimeoutMs} ms`,
        hint: 'check that redis-server runs on this machine, or set CANARYTRAP_REDIS_URL',
      },
    });
  } catch (error) {
    if (started.exitCode === null) started.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await child.catch(() => undefined);
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
    })());
  return { url: `redis://127.0.0.1:${port}`, port, stop, [Symbol.asyncDispose]: stop };
}

export async function pingRedis(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}
