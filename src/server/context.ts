import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { QueueHandle } from '../queue/analysis-queue.ts';
import type { Registry } from 'prom-client';
import type { NodeHandler } from './admin.ts';
import type { RunFeed } from './run-feed.ts';

/** What every route reads from: one per server, nothing module-level. */
export interface ServerContext {
  config: Config;
  logger: Logger;
  queue: QueueHandle;
  feed: RunFeed;
  token: string;
  dashboard: NodeHandler;
  /** What `GET /metrics` reports (metrics.ts). */
  metrics: Registry;
}
