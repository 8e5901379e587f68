import { mkdir } from 'node:fs/promises';
import { startWorker } from '../../src/cli/worker.ts';
import type { Config } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { startServer, type ServerHandle } from '../../src/server/index.ts';
import { startPipelineEnv, type PipelineEnv } from './pipeline-env.ts';

/** A pipeline world with an in-process worker and `canarytrap serve` on a free loopback port. */
export interface ServerEnv {
  world: PipelineEnv;
  config: Config;
  worker: ReturnType<typeof startWorker>;
  server: ServerHandle;
  close(): Promise<void>;
}

export async function startServerEnv(overrides: Partial<Config>): Promise<ServerEnv> {
  const world = await startPipelineEnv();
  await mkdir(world.config.dataRoot, { recursive: true });
  const config = { ...world.config, ...overrides };
  const worker = startWorker(world.redis.url, config, silentLogger(), 1);
  const server = await startServer({
    config,
    logger: silentLogger(),
    redisUrl: world.redis.url,
    port: 0,
  });
  return {
    world,
    config,
    worker,
    server,
    close: async () => {
      await server.close();
      await worker.close();
      await world.close();
    },
  };
}
