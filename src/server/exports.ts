import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { flowsToHar } from '../capture/har.ts';
import { parseFlows } from '../capture/flows-file.ts';
import { buildStixBundle } from '../report/export-stix.ts';
import { RUN_FILES } from '../run/run-dir.ts';
import { openRunFile } from '../run/run-files.ts';
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

/** A run's file as it is, opened confined to the run directory (openRunFile). */
async function sendFile(
  res: ServerResponse,
  where: { dataRoot: string; runId: string; name: string },
  type: string,
  filename: string,
  missing: ApiError,
): Promise<void> {
  const file = await openRunFile(where.dataRoot, where.runId, where.name);
  if (!file) throw missing;
  await using opened = file;
  res.writeHead(200, {
    'content-type': type,
    'content-length': opened.size,
    'content-disposition': filename,
    'cache-control': 'no-store',
  });
  await pipeline(opened.handle.createReadStream({ autoClose: false }), res);
}

/** `GET /api/runs/:id/export/:format`: the formats other tools read. */
export async function sendExport(
  res: ServerResponse,
  dataRoot: string,
  runId: string,
  format: ExportFormat,
): Promise<void> {
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
      const file = await openRunFile(dataRoot, runId, RUN_FILES.flows);
      if (!file) {
        throw new ApiError(404, 'flows-not-found', `run ${runId} has no captured flows (yet)`);
      }
      await using opened = file;
      const text = await opened.handle.readFile('utf8');
      const har = flowsToHar(parseFlows(text, `the flows of run ${runId}`));
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
        { dataRoot, runId, name: RUN_FILES.events },
        'application/x-ndjson',
        attachment(runId, '.events.jsonl'),
        new ApiError(404, 'events-not-found', `run ${runId} has no events file (yet)`),
      );
      return;
    case 'pcap':
      await sendFile(
        res,
        { dataRoot, runId, name: PCAP_FILE },
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
