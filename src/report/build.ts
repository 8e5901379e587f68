/** Builds the run report from what the stages produced. Pure: no I/O, no clock. */
import type { Leak } from '../correlate/types.ts';
import { collectDestinations } from './destinations.ts';
import {
  REPORT_VERSION,
  type Report,
  type ReportCanary,
  type ReportInput,
  type Totals,
} from './model.ts';
import { toOpaqueFlows } from './opaque.ts';
import { countLeaks } from './summary.ts';
import { decideVerdict } from './verdict.ts';

function byTime(a: Leak, b: Leak): number {
  return a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function buildReport(input: ReportInput): Report {
  const leaks = [...input.leaks].sort(byTime);
  const counts = countLeaks(leaks);
  const destinations = collectDestinations(input.flows, leaks);
  const opaque = toOpaqueFlows(input.opaque ?? []);

  const leaksPerCanary = new Map<string, number>();
  for (const leak of leaks) {
    leaksPerCanary.set(leak.canary.id, (leaksPerCanary.get(leak.canary.id) ?? 0) + 1);
  }
  const canaries: ReportCanary[] = input.canaries.canaries.map((canary) => ({
    ...canary,
    leaks: leaksPerCanary.get(canary.id) ?? 0,
  }));

  const totals: Totals = {
    leaks: leaks.length,
    canaryKinds: counts.byKind.length,
    hosts: counts.byHost.length,
    apps: counts.byApp.length,
    flows: input.flows.length,
    canariesPlanted: canaries.length,
  };

  const report: Report = {
    version: REPORT_VERSION,
    run: structuredClone(input.run),
    verdict: decideVerdict(totals, destinations.length, input.stages, opaque),
    summary: { totals, ...counts },
    leaks,
    destinations,
    opaque,
    canaries,
    stages: input.stages.map((stage) => ({ ...stage })),
    limitations: [...input.limitations],
  };
  if (input.containment !== undefined) report.containment = structuredClone(input.containment);
  if (input.inventory !== undefined) report.inventory = input.inventory;
  if (input.ui !== undefined) report.ui = structuredClone(input.ui);
  return report;
}
