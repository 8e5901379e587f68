import { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { CanarytrapError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { ensureEmbeddedRedis, runningEmbeddedRedis, type EmbeddedRedis } from './embedded-redis.ts';

/**
 * Where the queue's Redis is. A configured URL wins; otherwise the data root's embedded Redis
 * (embedded-redis.ts), which a worker, `serve` or the demo starts and `submit`, `watch`, `cancel`
 * and `rerun` in another terminal find through its record.
 */
export interface RedisEndpoint {
  url: string;
  /** The data root's embedded Redis; release it on exit (the last user out shuts it down). */
  embedded?: EmbeddedRedis;
}

export async function findRedis(config: Config): Promise<string | undefined> {
  if (config.redisUrl) return checkRedisUrl(config.redisUrl);
  return (await runningEmbeddedRedis(config.dataRoot))?.url;
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
        hint: 'start `canarytrap worker` (it starts the embedded Redis) or set CANARYTRAP_REDIS_URL',
      },
    );
  }
  return url;
}

/** For the worker, `serve` and the demo: the configured Redis, else the embedded one, started if need be. */
export async function ensureRedis(config: Config, logger?: Logger): Promise<RedisEndpoint> {
  if (config.redisUrl) return { url: await checkRedisUrl(config.redisUrl) };
  const embedded = await ensureEmbeddedRedis(config.dataRoot, logger ? { logger } : {});
  return { url: embedded.url, embedded };
}

/** How long a configured Redis has to answer before a command gives up on it. */
export const REDIS_PROBE_TIMEOUT_MS = 5_000;

/**
 * A configured Redis URL, checked before any queue connection is made: ioredis retries a bad
 * or unreachable address for ever, so without this `submit` hung and a worker announced itself
 * up on a queue it never reached. Malformed or unreachable: a coded error naming the URL.
 */
export async function checkRedisUrl(
  url: string,
  timeoutMs = REDIS_PROBE_TIMEOUT_MS,
): Promise<string> {
  const shown = redactRedisUrl(url);
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (
    parsed === undefined ||
    !['redis:', 'rediss:'].includes(parsed.protocol) ||
    !parsed.hostname
  ) {
    throw new CanarytrapError('redis-url-invalid', `Redis URL "${shown}" is not a redis:// URL`, {
      permanent: true,
      hint: 'set CANARYTRAP_REDIS_URL to redis://[user:password@]host:port[/db] (rediss:// for TLS), or unset it to use the embedded Redis',
    });
  }
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // The rejection below only says "Connection is closed"; the event carries the cause
  // (ECONNREFUSED, ENOTFOUND, a TLS or AUTH failure).
  let cause: Error | undefined;
  probe.on('error', (error: Error) => (cause ??= error));
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new CanarytrapError(
      'redis-unreachable',
      `Redis at ${shown} cannot be reached: ${(cause ?? (error as Error)).message}`,
      {
        cause: error,
        hint: 'start that Redis or fix CANARYTRAP_REDIS_URL; unset it to use the embedded Redis of the data root',
      },
    );
  } finally {
    probe.disconnect();
  }
  return url;
}

/** The URL with its password replaced, for messages and logs. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

/**
 * BullMQ needs maxRetriesPerRequest: null on worker connections. The connection keeps retrying
 * through a Redis restart or outage; it says so once per outage (with `logger`) instead of
 * ioredis printing every failed attempt with a stack.
 */
export function redisConnection(url: string, logger?: Logger): Redis {
  const connection = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
  let lost = false;
  connection.on('error', (error: Error) => {
    if (lost) return;
    lost = true;
    logger?.warn({ redis: redactRedisUrl(url), err: error.message }, 'Redis unreachable; retrying');
  });
  connection.on('ready', () => {
    if (!lost) return;
    lost = false;
    logger?.info({ redis: redactRedisUrl(url) }, 'Redis reachable again');
  });
  return connection;
}
