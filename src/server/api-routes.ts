import type { IncomingMessage, ServerResponse } from 'node:http';
import { runDirFor } from '../run/run-dir.ts';
import type { ServerContext } from './context.ts';
import { isExportFormat, sendExport } from './exports.ts';
import { ApiError, isObject, readJsonBody, sendJson } from './http-kit.ts';
import { cancel, diffRuns, rerun, submit } from './run-actions.ts';
import { streamRunEvents } from './run-events.ts';
import { readRunReport } from '../run/run-report.ts';
import { listRuns, runDetail } from './runs.ts';
import { readSubmission } from './submission.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, id: string) => Promise<void>;

interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  handler: Handler;
}

const ID = '([A-Za-z0-9][A-Za-z0-9_-]*)';

/** The JSON API (docs/api.md). Every handler validates before it queues anything. */
export function apiRoutes(ctx: ServerContext): Route[] {
  const { dataRoot } = ctx.config;
  return [
    {
      method: 'POST',
      pattern: /^\/api\/runs$/,
      handler: async (req, res, url) => {
        const submission = await readSubmission(req, url, ctx.config);
        sendJson(res, 201, await submit(ctx, submission));
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/runs$/,
      handler: async (_req, res, url) =>
        sendJson(res, 200, {
          runs: await listRuns(dataRoot, ctx.queue, url.searchParams.get('q') ?? undefined),
        }),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/api/runs/${ID}$`),
      handler: async (_req, res, _url, id) => {
        const detail = await runDetail(dataRoot, ctx.queue, id);
        sendJson(res, 200, { ...detail, stages: ctx.feed.stagesSeen(id) });
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/api/runs/${ID}/report$`),
      handler: async (_req, res, _url, id) => sendJson(res, 200, await readRunReport(dataRoot, id)),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/api/runs/${ID}/events$`),
      handler: (req, res, _url, id) => streamRunEvents(req, res, id, ctx),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/runs/${ID}/cancel$`),
      handler: async (_req, res, _url, id) => {
        const result = await cancel(ctx, id);
        // 202: a running run stops shortly, when its worker has torn its device down.
        sendJson(res, result.status === 'cancelling' ? 202 : 200, result);
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/runs/${ID}/rerun$`),
      handler: async (req, res, _url, id) => {
        const body = await readJsonBody(req);
        if (!isObject(body))
          throw new ApiError(400, 'body-invalid', 'the body must be a JSON object');
        sendJson(res, 201, await rerun(ctx, id, body.image));
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/api/runs/${ID}/export/([a-z]+)$`),
      handler: async (_req, res, url, id) => {
        const format = url.pathname.split('/').at(-1) ?? '';
        if (!isExportFormat(format)) {
          throw new ApiError(
            404,
            'export-unknown',
            `no export "${format}"; one of report, har, events, stix, pcap`,
          );
        }
        runDirFor(dataRoot, id);
        await sendExport(res, dataRoot, id, format);
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/diff$/,
      handler: async (_req, res, url) =>
        sendJson(
          res,
          200,
          await diffRuns(ctx, url.searchParams.get('base'), url.searchParams.get('next')),
        ),
    },
  ];
}

export interface MatchedRoute {
  handler: Handler;
  id: string;
}

/** The route for a request; a path that exists under another method is a 405, not a 404. */
export function matchRoute(
  routes: readonly Route[],
  method: string,
  pathname: string,
): MatchedRoute {
  let pathKnown = false;
  for (const route of routes) {
    const match = route.pattern.exec(pathname);
    if (!match) continue;
    pathKnown = true;
    if (route.method === method || (route.method === 'GET' && method === 'HEAD'))
      return { handler: route.handler, id: match[1] ?? '' };
  }
  if (pathKnown)
    throw new ApiError(405, 'method-not-allowed', `${method} is not allowed on ${pathname}`);
  throw new ApiError(404, 'route-not-found', `no such route: ${pathname}`);
}

export type { Route, Handler };
