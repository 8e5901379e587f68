/** The one-line verdict at the top of a report. */
import type { OpaqueFlow, StageRecord, Totals, Verdict } from './model.ts';
import { opaqueHosts } from './opaque.ts';

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

/** How many destinations an unread-flows clause names before it counts the rest. */
const HOSTS_NAMED = 3;

/**
 * "capture could not read 2 flows to bigdata.adups.com (tls-handshake-failed)", or '' when every
 * flow was read. Names the hosts with the most unread flows first.
 */
export function unreadClause(opaque: readonly OpaqueFlow[]): string {
  const hosts = opaqueHosts(opaque);
  if (hosts.length === 0) return '';
  const flows = hosts.reduce((sum, h) => sum + h.flows, 0);
  const named = hosts.slice(0, HOSTS_NAMED).map((h) => `${h.host} (${h.reasons.join(', ')})`);
  const rest = hosts.length - named.length;
  if (rest > 0) named.push(plural(rest, 'more host'));
  const list =
    named.length === 1 ? named[0] : `${named.slice(0, -1).join(', ')} and ${named.at(-1)}`;
  return `capture could not read ${plural(flows, 'flow')} to ${list}`;
}

/**
 * Leaks found is a verdict even when a later stage failed: what was seen was seen. No leaks is
 * only a verdict when every stage ran and capture read every flow; otherwise the run is
 * incomplete (the missing stage may be the one that would have caught the leak) or inconclusive
 * (the leak may be in the flow nobody could read, as a pinned app's upload is).
 */
export function decideVerdict(
  totals: Totals,
  destinationCount: number,
  stages: readonly StageRecord[],
  opaque: readonly OpaqueFlow[] = [],
): Verdict {
  const failed = failedStages(stages);
  const unread = unreadClause(opaque);
  if (totals.leaks > 0) {
    const from =
      totals.apps > 0 ? ` from ${plural(totals.apps, 'app')}` : ' from an unidentified app';
    const kinds = plural(totals.canaryKinds, 'canary kind');
    let summary = `${kinds} left the device to ${plural(totals.hosts, 'host')}${from} (${plural(totals.leaks, 'leak')})`;
    if (unread) summary += `; ${unread}`;
    if (failed) summary += `; the run did not finish: ${failed} failed`;
    return { status: 'leaks-found', summary };
  }
  if (failed) {
    return {
      status: 'incomplete',
      summary: `No leak found, but the run did not finish: ${failed} failed${unread ? `; ${unread}` : ''}`,
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
  if (unread) {
    return {
      status: 'inconclusive',
      summary: `No leak found in ${plural(totals.flows, 'captured flow')} to ${plural(destinationCount, 'host')}, but ${unread}: a canary sent there would not be seen`,
    };
  }
  return {
    status: 'no-leaks',
    summary: `No canary left the device in ${plural(totals.flows, 'captured flow')} to ${plural(destinationCount, 'host')}`,
  };
}
