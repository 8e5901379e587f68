import { labImageNames } from '../run/image-argument.ts';
import type { Route } from './api-routes.ts';
import { pageCsrfToken } from './auth.ts';
import type { ServerContext } from './context.ts';
import { ApiError, readFormBody, redirect, sendHtml } from './http-kit.ts';
import { renderDiffPage, renderReportPage } from './pages/report-page.ts';
import { renderRunsPage } from './pages/runs-page.ts';
import { renderWatchPage, WATCH_SCRIPT_PATH } from './pages/watch-page.ts';
import { WATCH_SCRIPT } from './pages/watch-script.ts';
import { cancel, diffRuns, rerun, submit } from './run-actions.ts';
import { readRunReport } from '../run/run-report.ts';
import { listRuns, runDetail } from './runs.ts';
import { readSubmission } from './submission.ts';
import { sendUiArtifact, UI_ARTIFACT_NAME } from './ui-artifacts.ts';

const ID = '([A-Za-z0-9][A-Za-z0-9_-]*)';

/** The pages: server-rendered HTML; forms post and redirect, so they work without scripts. */
export function pageRoutes(ctx: ServerContext): Route[] {
  const { dataRoot } = ctx.config;
  return [
    {
      method: 'GET',
      pattern: /^\/$/,
      handler: async (req, res, url) => {
        const q = url.searchParams.get('q') ?? '';
        sendHtml(
          res,
          200,
          renderRunsPage(
            await listRuns(dataRoot, ctx.queue, q || undefined),
            await labImageNames(),
            q,
            pageCsrfToken(req, res, ctx.token),
          ),
        );
      },
    },
    {
      method: 'POST',
      pattern: /^\/runs$/,
      handler: async (req, res, url) => {
        if (!(req.headers['content-type'] ?? '').startsWith('multipart/form-data'))
          throw new ApiError(
            415,
            'content-type-unsupported',
            'the submit form posts multipart/form-data',
          );
        const { runId } = await submit(ctx, await readSubmission(req, url, ctx.config));
        redirect(res, `/runs/${runId}`);
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/runs/${ID}$`),
      handler: async (req, res, _url, id) =>
        sendHtml(
          res,
          200,
          renderWatchPage(
            await runDetail(dataRoot, ctx.queue, id),
            await labImageNames(),
            pageCsrfToken(req, res, ctx.token),
          ),
        ),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/runs/${ID}/report$`),
      handler: async (req, res, url, id) => {
        const offset = Math.max(0, Math.floor(Number(url.searchParams.get('offset') ?? 0)) || 0);
        sendHtml(
          res,
          200,
          renderReportPage(
            await readRunReport(dataRoot, id),
            offset,
            await labImageNames(),
            pageCsrfToken(req, res, ctx.token),
          ),
        );
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/runs/${ID}/ui/${UI_ARTIFACT_NAME}$`),
      // The pattern checked the file name; it is the path's last segment.
      handler: async (_req, res, url, id) =>
        sendUiArtifact(res, dataRoot, id, url.pathname.slice(url.pathname.lastIndexOf('/') + 1)),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/runs/${ID}/rerun$`),
      handler: async (req, res, _url, id) => {
        const form = await readFormBody(req);
        const { runId } = await rerun(ctx, id, form.get('image'));
        redirect(res, `/runs/${runId}`);
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/runs/${ID}/cancel$`),
      handler: async (req, res, _url, id) => {
        await readFormBody(req);
        await cancel(ctx, id);
        redirect(res, `/runs/${id}`);
      },
    },
    {
      method: 'GET',
      pattern: /^\/diff$/,
      handler: async (_req, res, url) =>
        sendHtml(
          res,
          200,
          renderDiffPage(
            await diffRuns(ctx, url.searchParams.get('base'), url.searchParams.get('next')),
          ),
        ),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${WATCH_SCRIPT_PATH.replaceAll('.', '\\.')}$`),
      handler: async (_req, res) => {
        res.writeHead(200, {
          'content-type': 'text/javascript; charset=utf-8',
          'cache-control': 'no-cache',
        });
        res.end(WATCH_SCRIPT);
        return Promise.resolve();
      },
    },
  ];
}
