import { Redis } from 'ioredis';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Config } from '../config.ts';
import { CanarytrapError } from '../errors.ts';
import { processAlive } from '../host/processes.ts';
import { startPrivateRedis, type PrivateRedis } from './redis-server.ts';

/**
 * Where the queue's Redis is. A configured URL wins; otherwise a worker (or the demo) starts a
 * private redis-server and records it under the data root, so `submit` and `watch` in another
 * terminal find the same one.
 */
export interface RedisEndpoint {
  url: string;
  /** Set when this process started the server; stop it on exit. */
  owned?: PrivateRedis;
}

interface RecordedRedis {
  url: string;
  pid: number;
}

function recordPath(config: Config): string {
  return join(config.dataRoot, 'redis.json');
}

export async function findRedis(config: Config): Promise<string | undefined> {
  if (config.redisUrl) return config.redisUrl;
  const text = await readFile(recordPath(config), 'utf8').catch(() => undefined);
  if (!text) return undefined;
  try {
    const recorded = JSON.parse(text) as RecordedRedis;
    if (processAlive(recorded.pid)) return recorded.url;
  } catch {
    // A torn or stale record is the same as none.
  }
  return undefined;
}

/** For commands that need a queue but must not start one (submit, watch). */
export async function requireRedis(config: Config): Promise<string> {
  const url = await findRedis(config);
  if (!url) {
    throw new CanarytrapError(
      'redis-not-configured',
      'no Redis is configured and no canarytrap worker is running',
      {
        permanent: true,
        hint: 'start `canarytrap worker` (it starts a private Redis) or set CANARYTRAP_REDIS_URL',
      },
    );
  }
  return url;
}

/** For the worker and the demo: use the configured or recorded Redis, else start one. */
export async function ensureRedis(config: Config): Promise<RedisEndpoint> {
  const existing = await findRedis(config);
  if (existing) return { url: existing };
  const owned = await startPrivateRedis();
  const path = recordPath(config);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(
    path,
    JSON.stringify({ url: owned.url, pid: process.pid } satisfies RecordedRedis),
  );
  const stop = () => owned.stop();
  const wrapped: PrivateRedis = {
    url: owned.url,
    port: owned.port,
    stop: async () => {
      await rm(path, { force: true });
      await stop();
    },
    [Symbol.asyncDispose]: async () => wrapped.stop(),
  };
  return { url: owned.url, owned: wrapped };
}

/** BullMQ needs maxRetriesPerRequest: null on worker connections. */
export function redisConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}
