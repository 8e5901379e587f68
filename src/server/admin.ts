import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { QueueHandle } from '../queue/analysis-queue.ts';

export const ADMIN_PATH = '/admin/queues';

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * bull-board, the queue dashboard. Its express adapter is the one it is developed against; an
 * express app is a plain node request handler, so it sits behind the server's own token check.
 */
export function queueDashboard(queue: QueueHandle): NodeHandler {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(ADMIN_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(queue.queue, { readOnlyMode: false })],
    serverAdapter: adapter,
  });
  const app = express();
  app.disable('x-powered-by');
  app.use(ADMIN_PATH, adapter.getRouter() as express.Router);
  return (req, res) => {
    app(req, res);
  };
}
