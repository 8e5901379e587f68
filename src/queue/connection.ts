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
  if (config.redisUrl) return config.redisUrl;
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
  if (config.redisUrl) return { url: config.redisUrl };
  const embedded = await ensureEmbeddedRedis(config.dataRoot, logger ? { logger } : {});
  return { url: embedded.url, embedded };
}

/** BullMQ needs maxRetriesPerRequest: null on worker connections. */
export function redisConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}
