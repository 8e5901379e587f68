import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listOpaqueFlows } from '../../src/correlate/index.ts';
import { CanarytrapError } from '../../src/errors.ts';
import { buildReport } from '../../src/report/build.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import type { ContainmentRecord, Report } from '../../src/report/model.ts';
import { writeJsonAtomic } from '../../src/host/fs.ts';
import { RUN_FILES } from '../../src/run/run-dir.ts';
import type { RunContext } from '../context.ts';

/** Writes report.json and the self-contained report.html. */
export async function reportStage(context: RunContext): Promise<string> {
  const report = assembleReport(context);
  if (!context.runDir) throw new CanarytrapError('stage-order', 'report needs intake first');
  await writeJsonAtomic(join(context.runDir, RUN_FILES.reportJson), report);
  await writeFile(join(context.runDir, RUN_FILES.reportHtml), renderReportHtml(report));
  context.verdict = report.verdict.status;
  return report.verdict.summary;
}

export function assembleReport(context: RunContext): Report {
  const { image } = context;
  // A static-only run planted nothing: its report holds the inventory and says why.
  const canaries =
    context.canaries?.set ??
    (context.staticOnly !== undefined
      ? { version: 1 as const, runId: context.data.runId, canaries: [] }
      : undefined);
  if (!image || !canaries)
    throw new CanarytrapError('stage-order', 'report needs intake and plant first');
  const meta = image.metadata;
  return buildReport({
    run: {
      runId: context.data.runId,
      jobId: context.jobId,
      image: {
        name: context.data.imageLabel,
        sha256: image.id,
        ...(meta.fingerprint ? { fingerprint: meta.fingerprint } : {}),
        ...(meta.model ? { model: meta.model } : {}),
        ...(meta.manufacturer ? { manufacturer: meta.manufacturer } : {}),
        ...(meta.androidVersion ? { androidVersion: meta.androidVersion } : {}),
        ...(meta.apiLevel ? { apiLevel: meta.apiLevel } : {}),
        ...(meta.lineage ? { lineage: meta.lineage } : {}),
      },
      startedAt: context.startedAt,
      finishedAt: Date.now(),
      launcher: context.device?.launcher ?? 'lab-phone',
      ...(context.data.baselineRunId ? { baselineRunId: context.data.baselineRunId } : {}),
      attempt: context.attempt,
      ...(context.earlierAttempts?.length ? { earlierAttempts: context.earlierAttempts } : {}),
    },
    canaries,
    leaks: context.leaks,
    flows: context.flows,
    // The same list the correlate stage found: a pure function of the flows and events.
    opaque: listOpaqueFlows(context.flows, context.events),
    stages: context.stages,
    limitations: context.limitations,
    inventory: image.inventory,
    ...(context.ui ? { ui: context.ui } : {}),
    ...(containmentRecord(context) ?? {}),
  });
}

function containmentRecord(context: RunContext): { containment: ContainmentRecord } | undefined {
  const containment = context.network?.containment;
  if (!containment) return undefined;
  return {
    containment:
      containment.mode === 'caged'
        ? { status: 'verified', checks: containment.probe.checks }
        : { status: 'uncontained', reason: containment.reason },
  };
}
