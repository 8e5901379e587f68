import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { QueueHandle } from '../queue/analysis-queue.ts';
import { LANE_NAMES, LANES, type LaneName } from '../queue/lanes.ts';
import { blockedLanes } from '../queue/waiting.ts';

export const ADMIN_PATH = '/admin/queues';

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

type ViewEngine = (
  path: string,
  options: object,
  callback: (error: Error | null, html?: string) => void,
) => void;

/**
 * bull-board, the queue dashboard, behind the server's own token check. It is read-only: its
 * add, retry and clean actions would queue and change runs past the checks every other door
 * makes (allowed roots, the job-option schema), so runs are submitted through the API or pages.
 */
export function queueDashboard(queue: QueueHandle): NodeHandler {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(ADMIN_PATH);
  const lanes = LANE_NAMES.map((lane) => ({
    lane,
    adapter: new LaneAdapter(queue.lanes[lane], lane),
  }));
  createBullBoard({
    queues: lanes.map((entry) => entry.adapter),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'canarytrap queue' } },
  });
  const board = adapter.getRouter() as express.Application;
  board.disable('x-powered-by');
  withoutRemoteLinks(board);
  const app = express();
  app.disable('x-powered-by');
  app.use(ADMIN_PATH, board);
  return (req, res) => {
    // Each request (the board polls its queue list) first reads which lanes no connected
    // worker serves, so a job that needs KVM shows "no worker with: kvm" on its queue.
    void blockedLanes(queue)
      .then(
        (blocked) => {
          for (const entry of lanes) entry.adapter.blocked = blocked[entry.lane];
        },
        () => undefined,
      )
      .finally(() => {
        app(req, res);
      });
  };
}

/** A lane's queue on the board, described by what it needs and, live, what no worker has. */
class LaneAdapter extends BullMQAdapter {
  blocked: string | undefined;

  constructor(
    queue: QueueHandle['lanes'][LaneName],
    private readonly lane: LaneName,
  ) {
    super(queue, { readOnlyMode: true, allowRetries: false });
  }

  override getDescription(): string {
    const { title, needs } = LANES[this.lane];
    const needed = needs.length > 0 ? `needs: ${needs.join(', ')}` : 'any worker';
    return `${title} (${needed})${this.blocked ? ` — waiting: ${this.blocked}` : ''}`;
  }
}

/**
 * The dashboard's page links a web font from a remote host; the rendered page drops every
 * `<link>` to another host, so opening the dashboard tells no one else about it. (The CSP
 * forbids remote fonts as well; this keeps the browser from even trying.)
 */
function withoutRemoteLinks(board: express.Application): void {
  const engines = (board as unknown as { engines: Record<string, ViewEngine | undefined> }).engines;
  const render = engines['.ejs'];
  if (!render) throw new Error('bull-board no longer renders with ejs; check withoutRemoteLinks');
  board.engine('ejs', (path, options, callback) =>
    render(path, options, (error, html) =>
      callback(error, html?.replace(/<link\b[^>]*\bhref="(?:https?:)?\/\/[^"]*"[^>]*>/gi, '')),
    ),
  );
}
