import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { openAnalysisQueue, openQueueEvents } from '../queue/analysis-queue.ts';
import { markup } from '../report/html-kit.ts';
import { ADMIN_PATH, queueDashboard } from './admin.ts';
import { apiRoutes, matchRoute, type Route } from './api-routes.ts';
import { loadApiToken } from './api-token.ts';
import { isAuthorised, tokenCookie } from './auth.ts';
import type { ServerContext } from './context.ts';
import { errorResponse, redirect, sendError, sendHtml, sendJson } from './http-kit.ts';
import { pageRoutes } from './page-routes.ts';
import { appPage } from './pages/layout.ts';
import { RunFeed } from './run-feed.ts';

export interface ServeOptions {
  config: Config;
  logger: Logger;
  redisUrl: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1: the API serves suspect data, so it is not exposed unless asked. */
  host?: string;
}

export interface ServerHandle {
  url: string;
  port: number;
  token: string;
  /** The token was made by this start (print it once). */
  tokenGenerated: boolean;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** `canarytrap serve`: the JSON API, the pages, the live event streams and the queue dashboard. */
export async function startServer(options: ServeOptions): Promise<ServerHandle> {
  const { config, logger } = options;
  const apiToken = await loadApiToken(config.dataRoot, config.apiToken);
  const queue = openAnalysisQueue(options.redisUrl, config.queuePrefix);
  const feed = new RunFeed(openQueueEvents(options.redisUrl, config.queuePrefix), queue, (error) =>
    logger.warn({ err: error }, 'run feed'),
  );
  await feed.ready();
  const ctx: ServerContext = {
    config,
    logger,
    queue,
    feed,
    token: apiToken.token,
    dashboard: queueDashboard(queue),
  };
  const api = apiRoutes(ctx);
  const pages = pageRoutes(ctx);
  const server = createServer((req, res) => {
    handle(ctx, api, pages, req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'request failed');
      sendError(res, error);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address, family } = server.address() as AddressInfo;
  const host = family === 'IPv6' ? `[${address}]` : address;
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // Event streams stay open until their pages go; a stopping server ends them.
      server.closeAllConnections();
      await stopped;
      const steps = await Promise.allSettled([feed.close(), queue.close()]);
      for (const step of steps)
        if (step.status === 'rejected') logger.warn({ err: step.reason }, 'server close');
    })());
  return {
    url: `http://${host}:${port}`,
    port,
    token: apiToken.token,
    tokenGenerated: apiToken.generated,
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function handle(
  ctx: ServerContext,
  api: readonly Route[],
  pages: readonly Route[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';
  const isApi = url.pathname.startsWith('/api/');
  if (url.pathname === '/health' && (method === 'GET' || method === 'HEAD')) {
    sendJson(res, 200, { status: 'ok' });
    return;
  }
  if (!isAuthorised(req, url, ctx.token)) {
    req.resume();
    res.setHeader('www-authenticate', 'Bearer realm="canarytrap"');
    const message =
      'a valid token is required: Authorization: Bearer <token>, or open a page once with ?token=<token>';
    respondError(res, isApi, { status: 401, code: 'unauthorised', message });
    return;
  }
  if (!isApi && method === 'GET' && url.searchParams.has('token')) {
    // The token moves from the address bar into an HttpOnly cookie, and out of the history.
    url.searchParams.delete('token');
    redirect(res, `${url.pathname}${url.search}`, { 'set-cookie': tokenCookie(ctx.token) });
    return;
  }
  if (url.pathname === ADMIN_PATH || url.pathname.startsWith(`${ADMIN_PATH}/`)) {
    ctx.dashboard(req, res);
    return;
  }
  try {
    const route = matchRoute(isApi ? api : pages, method, url.pathname);
    await route.handler(req, res, url, route.id);
  } catch (error) {
    const response = errorResponse(error);
    if (response.status >= 500)
      ctx.logger.error({ err: error, path: url.pathname }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // A body the client is still sending is not read any further.
    if (!req.complete) res.setHeader('connection', 'close');
    respondError(res, isApi, response);
  }
}

function respondError(
  res: ServerResponse,
  isApi: boolean,
  error: { status: number; code: string; message: string },
): void {
  if (isApi) {
    sendJson(res, error.status, { error: { code: error.code, message: error.message } });
    return;
  }
  sendHtml(
    res,
    error.status,
    appPage(
      `canarytrap · ${error.code}`,
      markup`<main><h1>${error.status} ${error.code}</h1><p class="notice">${error.message}</p></main>`,
    ),
  );
}
