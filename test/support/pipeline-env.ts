import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.ts';
import { AdbClient } from '../../src/device/adb-client.ts';
import { silentLogger } from '../../src/log.ts';
import { startPrivateRedis, type PrivateRedis } from '../../src/queue/redis-server.ts';
import { freePort } from '../../src/host/ports.ts';

/**
 * An isolated world for one test file: a private Redis, a private adb server port, a temp data
 * root and HOME (for the console token), and a fresh queue prefix.
 */
export interface PipelineEnv {
  config: Config;
  redis: PrivateRedis;
  adb: AdbClient;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startPipelineEnv(): Promise<PipelineEnv> {
  const root = await mkdtemp(join(tmpdir(), 'canarytrap-test-'));
  const redis = await startPrivateRedis();
  const adbServerPort = await freePort();
  const env: Record<string, string> = {
    CANARYTRAP_DATA: join(root, 'data'),
    CANARYTRAP_REDIS_URL: redis.url,
    CANARYTRAP_QUEUE_PREFIX: `test-${randomUUID()}`,
    ANDROID_ADB_SERVER_PORT: String(adbServerPort),
    HOME: join(root, 'home'),
    CANARYTRAP_LOG_LEVEL: 'silent',
    // The suite's shared build cache of lab images (scripts/run-tests.mjs), so each image is built
    // once per suite run rather than once per test file.
    ...(process.env['CANARYTRAP_LAB_IMAGE_CACHE']
      ? { CANARYTRAP_LAB_IMAGE_CACHE: process.env['CANARYTRAP_LAB_IMAGE_CACHE'] }
      : {}),
  };
  await mkdir(env['HOME'] ?? root, { recursive: true });
  const config = loadConfig(env, root);
  const adb = new AdbClient({ serverPort: adbServerPort });
  return {
    config,
    redis,
    adb,
    env,
    close: async () => {
      await adb.killServer();
      await redis.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export const quietLogger = silentLogger;
