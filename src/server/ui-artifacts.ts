import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { openRunFile } from '../run/run-files.ts';
import { ApiError } from './http-kit.ts';

/** A UI step's screenshot or page source, as the runner names them (`03-finish-setup.png`). */
export const UI_ARTIFACT_NAME = '[0-9]{2,5}-[a-z0-9-]+\\.(?:png|xml)';

const TYPES: Record<string, string> = {
  png: 'image/png',
  // Served as text: the page source is data from the device and must not render as a document.
  xml: 'text/plain; charset=utf-8',
};

/**
 * `GET /runs/:id/ui/:file`: the report page links `ui/<file>` relative to `/runs/:id/report`,
 * as report.html does next to the run's files.
 */
export async function sendUiArtifact(
  res: ServerResponse,
  dataRoot: string,
  runId: string,
  name: string,
): Promise<void> {
  const file = await openRunFile(dataRoot, runId, join('ui', name));
  if (!file)
    throw new ApiError(404, 'ui-artifact-not-found', `run ${runId} has no UI file ${name}`);
  await using opened = file;
  res.writeHead(200, {
    'content-type': TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream',
    'content-length': opened.size,
    'cache-control': 'no-store',
  });
  await pipeline(opened.handle.createReadStream({ autoClose: false }), res);
}
