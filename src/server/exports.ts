import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { flowsToHar } from '../capture/har.ts';
import { readFlows } from '../capture/flows-file.ts';
import { buildStixBundle } from '../report/export-stix.ts';
import { RUN_FILES, runDirFor } from '../run/run-dir.ts';
import { ApiError } from './http-kit.ts';
import { readRunReport } from '../run/run-report.ts';

export const EXPORT_FORMATS = ['report', 'har', 'events', 'stix', 'pcap'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The emulator's own capture; the lab phone produces none. */
export const PCAP_FILE = 'emulator.pcap';

export function isExportFormat(value: string): value is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(value);
}

function attachment(runId: string, suffix: string): string {
  return `attachment; filename="${runId}${suffix}"`;
}

function sendDownload(res: ServerResponse, type: string, filename: string, body: string): void {
  res.writeHead(200, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'content-disposition': filename,
    'cache-control': 'no-store',
  });
  res.end(body);
}

async function sendFile(
  res: ServerResponse,
  path: string,
  type: string,
  filename: string,
  missing: ApiError,
): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw missing;
  res.writeHead(200, {
    'content-type': type,
    'content-length': info.size,
    'content-disposition': filename,
    'cache-control': 'no-store',
  });
  await pipeline(createReadStream(path), res);
}

/** `GET /api/runs/:id/export/:format`: the formats other tools read. */
export async function sendExport(
  res: ServerResponse,
  dataRoot: string,
  runId: string,
  format: ExportFormat,
): Promise<void> {
  const runDir = runDirFor(dataRoot, runId);
  switch (format) {
    case 'report': {
      const report = await readRunReport(dataRoot, runId);
      sendDownload(
        res,
        'application/json',
        attachment(runId, '.report.json'),
        `${JSON.stringify(report, null, 2)}\n`,
      );
      return;
    }
    case 'stix': {
      const report = await readRunReport(dataRoot, runId);
      sendDownload(
        res,
        'application/stix+json;version=2.1',
        attachment(runId, '.stix.json'),
        `${JSON.stringify(buildStixBundle(report), null, 2)}\n`,
      );
      return;
    }
    case 'har': {
      const flowsPath = join(runDir, RUN_FILES.flows);
      if (!(await stat(flowsPath).catch(() => undefined))) {
        throw new ApiError(404, 'flows-not-found', `run ${runId} has no captured flows (yet)`);
      }
      const har = flowsToHar(await readFlows(flowsPath));
      sendDownload(
        res,
        'application/json',
        attachment(runId, '.har'),
        `${JSON.stringify(har, null, 2)}\n`,
      );
      return;
    }
    case 'events':
      await sendFile(
        res,
        join(runDir, RUN_FILES.events),
        'application/x-ndjson',
        attachment(runId, '.events.jsonl'),
        new ApiError(404, 'events-not-found', `run ${runId} has no events file (yet)`),
      );
      return;
    case 'pcap':
      await sendFile(
        res,
        join(runDir, PCAP_FILE),
        'application/vnd.tcpdump.pcap',
        attachment(runId, '.pcap'),
        new ApiError(
          404,
          'pcap-unavailable',
          `run ${runId} has no packet capture: only SDK-emulator runs record one (lab-phone runs do not)`,
        ),
      );
      return;
  }
}
