import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { openAnalysisQueue, openQueueEvents } from '../queue/analysis-queue.ts';
import { markup } from '../report/html-kit.ts';
import { ADMIN_PATH, queueDashboard } from './admin.ts';
import { apiMetrics } from './metrics.ts';
import { openRunStore } from '../run/run-store.ts';
import { apiRoutes, matchRoute, type Route } from './api-routes.ts';
import { loadApiToken } from './api-token.ts';
import { authenticate, csrfValid, tokenCookie, type Credential } from './auth.ts';
import type { ServerContext } from './context.ts';
import { errorResponse, redirect, sendError, sendHtml, sendJson } from './http-kit.ts';
import { pageRoutes } from './page-routes.ts';
import { appPage } from './pages/layout.ts';
import { RunFeed } from './run-feed.ts';
import { fromSameOrigin, setSecurityHeaders } from './security-headers.ts';

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
  // Runs finished on other hosts are read from the shared store, when there is one.
  await openRunStore(config);
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
    metrics: apiMetrics(queue, feed),
  };
  const api = apiRoutes(ctx);
  const pages = pageRoutes(ctx);
  const server = createServer((req, res) => {
    handle(ctx, api, pages, req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'request failed');
      sendError(res, error);
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve());
    });
  } catch (error) {
    // A port in use or not allowed: what was opened for the server is closed again, so its Redis
    // connections do not keep the process alive after the error is reported.
    await Promise.allSettled([feed.close(), queue.close()]);
    throw error;
  }
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

/** Prometheus scrapes it with the API token (`authorization: credentials` in its job). */
const METRICS_PATH = '/metrics';

async function handle(
  ctx: ServerContext,
  api: readonly Route[],
  pages: readonly Route[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = req.method ?? 'GET';
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    req.resume();
    sendJson(res, 400, {
      error: { code: 'url-malformed', message: 'the request target is not a valid path' },
    });
    return;
  }
  const isApi = url.pathname.startsWith('/api/');
  const isDashboard = url.pathname === ADMIN_PATH || url.pathname.startsWith(`${ADMIN_PATH}/`);
  setSecurityHeaders(res, isDashboard ? 'dashboard' : 'pages');
  if (url.pathname === '/health' && (method === 'GET' || method === 'HEAD')) {
    sendJson(res, 200, { status: 'ok' });
    return;
  }
  const credential = authenticate(req, url, ctx.token);
  if (!credential) {
    req.resume();
    res.setHeader('www-authenticate', 'Bearer realm="canarytrap"');
    const message =
      'a valid token is required: Authorization: Bearer <token>, or open a page once with ?token=<token>';
    respondError(res, isApi, { status: 401, code: 'unauthorised', message });
    return;
  }
  if (credential === 'query') {
    // The token moves from the address bar into an HttpOnly cookie, and out of the history.
    url.searchParams.delete('token');
    redirect(res, `${url.pathname}${url.search}`, { 'set-cookie': tokenCookie(ctx.token) });
    return;
  }
  const refusal =
    method === 'GET' || method === 'HEAD'
      ? undefined
      : forgeryRefusal(ctx, req, url, credential, isApi || isDashboard);
  if (refusal) {
    req.resume();
    ctx.logger.warn(
      { path: url.pathname, origin: req.headers.origin, code: refusal.code },
      'request refused',
    );
    respondError(res, isApi, refusal);
    return;
  }
  if (isDashboard) {
    ctx.dashboard(req, res);
    return;
  }
  try {
    if (url.pathname === METRICS_PATH && (method === 'GET' || method === 'HEAD')) {
      const text = await ctx.metrics.metrics();
      res.writeHead(200, { 'content-type': ctx.metrics.contentType, 'cache-control': 'no-store' });
      res.end(method === 'HEAD' ? undefined : text);
      return;
    }
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

/**
 * A state-changing request a browser could have been made to send: one the cookie authenticated
 * must come from a page of this server and, on the pages, carry its session's CSRF token. A
 * bearer token cannot be sent by another site's page, so scripts need neither.
 */
function forgeryRefusal(
  ctx: ServerContext,
  req: IncomingMessage,
  url: URL,
  credential: Credential,
  isApiOrDashboard: boolean,
): { status: number; code: string; message: string } | undefined {
  if (credential === 'bearer') return undefined;
  if (!fromSameOrigin(req))
    return {
      status: 403,
      code: 'cross-origin-refused',
      message:
        "this request came from a page of another origin; submit from this server's own pages, or send Authorization: Bearer <token>",
    };
  if (!isApiOrDashboard && !csrfValid(req, url, ctx.token))
    return {
      status: 403,
      code: 'csrf-token-invalid',
      message: "the form's CSRF token is missing or stale; reload the page and submit again",
    };
  return undefined;
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
