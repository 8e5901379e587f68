/** The one-line verdict at the top of a report. */
import type { StageRecord, Totals, Verdict } from './model.ts';

/** "1 host", "3 hosts". */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
}

function failedStages(stages: readonly StageRecord[]): string {
  return stages
    .filter((stage) => stage.status === 'failed')
    .map((stage) => (stage.note ? `${stage.name} (${stage.note})` : stage.name))
    .join(', ');
}

/**
 * Leaks found is a verdict even when a later stage failed: what was seen was seen. No leaks is
 * only a verdict when every stage ran; otherwise the run is incomplete, since the missing stage
 * may be the one that would have caught the leak.
 */
export function decideVerdict(
  totals: Totals,
  destinationCount: number,
  stages: readonly StageRecord[],
): Verdict {
  const failed = failedStages(stages);
  if (totals.leaks > 0) {
    const from =
      totals.apps > 0 ? ` from ${plural(totals.apps, 'app')}` : ' from an unidentified app';
    const kinds = plural(totals.canaryKinds, 'canary kind');
    let summary = `${kinds} left the device to ${plural(totals.hosts, 'host')}${from} (${plural(totals.leaks, 'leak')})`;
    if (failed) summary += `; the run did not finish: ${failed} failed`;
    return { status: 'leaks-found', summary };
  }
  if (failed) {
    return {
      status: 'incomplete',
      summary: `No leak found, but the run did not finish: ${failed} failed`,
    };
  }
  // Skipped device stages: the image never ran, so "no leaks" would claim what nobody saw.
  const skipped = stages.filter((stage) => stage.status === 'skipped');
  if (skipped.some((stage) => stage.name === 'boot')) {
    return {
      status: 'incomplete',
      summary: `Not run dynamically, so no traffic was observed; the static findings are in the inventory (${skipped.map((s) => s.name).join(', ')} skipped)`,
    };
  }
  return {
    status: 'no-leaks',
    summary: `No canary left the device in ${plural(totals.flows, 'captured flow')} to ${plural(destinationCount, 'host')}`,
  };
}
