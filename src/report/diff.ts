/**
 * The diff of two runs, usually an image and the vendor's "fixed" update. Canary values are fresh
 * in every run, so runs compare by canary kind and by channel: (kind, destination host, app). A
 * leak gone from the next run is fixed only where the next run could have seen it; where the next
 * run sent flows capture could not read that may carry it, it is hidden (diff-hidden.ts).
 */
import { CANARY_KINDS, type CanaryKind } from '../canary/types.ts';
import type { Report, VerdictStatus } from './model.ts';
import { consentCause, consentChanges, uiWarnings, type ConsentChange } from './diff-consents.ts';
import { diffCapabilities, type CapabilityDiff } from './diff-capabilities.ts';
import { HidingFinder, type Hiding } from './diff-hidden.ts';
import { unreadFlows } from './opaque.ts';
import { channelKey } from './summary.ts';
import { unreadClause } from './verdict.ts';

/**
 * `hidden`: leaked in base, not seen in next, but next sent flows capture could not read that may
 * carry it, so it cannot be called fixed.
 */
export type KindStatus = 'fixed' | 'hidden' | 'still' | 'new' | 'none';
export type ChannelStatus = 'fixed' | 'hidden' | 'still' | 'new';

export interface DiffSide {
  runId: string;
  jobId: string;
  image: { name: string; sha256: string; lineage?: string };
  verdict: VerdictStatus;
  leaks: number;
  /** Flows of the run capture could not read (a hook's plaintext not searched instead). */
  unreadFlows: number;
}

export interface KindDiff {
  kind: CanaryKind;
  /** Leaks of this kind in the base run, and in the next run. */
  base: number;
  next: number;
  status: KindStatus;
}

export interface ChannelDiff {
  kind: CanaryKind;
  host: string;
  app?: string;
  base: number;
  next: number;
  status: ChannelStatus;
  /** For a hidden channel: the next run's unread flows that may carry it. */
  hiddenBy?: Hiding;
}

export interface DiffGroup {
  kinds: CanaryKind[];
  channels: ChannelDiff[];
}

export interface ReportDiff {
  version: 1;
  base: DiffSide;
  next: DiffSide;
  /** Consents decided differently in the two runs (runs that drove the UI). */
  consents: ConsentChange[];
  /** Where consents differ: names them as the likely cause of the fixed and new leaks. */
  cause?: string;
  /** Why the comparison may mislead: different lineages, an incomplete run, kinds not planted. */
  warnings: string[];
  /** Kinds or channels that leaked in base and not in next, where next could have seen them. */
  fixed: DiffGroup;
  /** Kinds or channels that leaked in base and went unseen in next, behind flows nobody could read. */
  hidden: DiffGroup;
  /** Leaking in both. */
  stillLeaking: DiffGroup;
  /** Leaking only in next. */
  new: DiffGroup;
  /** Hosts the next run contacted that the base run did not, leaking or not. */
  newDestinations: string[];
  /** Hosts the base run contacted that the next run did not. */
  goneDestinations: string[];
  /** Every kind planted or leaked in either run, in canary-kind order. */
  kinds: KindDiff[];
  /** Every channel that leaked in either run: fixed first, then hidden, still leaking, new. */
  channels: ChannelDiff[];
  /** What the images can do besides leaking (remote commands, silent installs, …), per run. */
  capabilities: CapabilityDiff[];
}

function side(report: Report): DiffSide {
  const image: DiffSide['image'] = { name: report.run.image.name, sha256: report.run.image.sha256 };
  if (report.run.image.lineage !== undefined) image.lineage = report.run.image.lineage;
  return {
    runId: report.run.runId,
    jobId: report.run.jobId,
    image,
    verdict: report.verdict.status,
    leaks: report.summary.totals.leaks,
    unreadFlows: unreadFlows(report.opaque).length,
  };
}

function leaksPerKind(report: Report): Map<CanaryKind, number> {
  return new Map(report.summary.byKind.map((k) => [k.kind, k.leaks]));
}

function plantedKinds(report: Report): Set<CanaryKind> {
  return new Set(report.canaries.map((c) => c.kind));
}

/** `hidden`: whether a channel of the kind that leaked in base is hidden in next. */
function statusOf(base: number, next: number, hidden: boolean): KindStatus {
  if (base > 0) return next > 0 ? 'still' : hidden ? 'hidden' : 'fixed';
  return next > 0 ? 'new' : 'none';
}

function diffWarnings(base: Report, next: Report): string[] {
  const warnings: string[] = [];
  const [a, b] = [base.run.image.lineage, next.run.image.lineage];
  if (a !== undefined && b !== undefined && a !== b) {
    warnings.push(
      `the images are of different lineages (${a} and ${b}); fixed and new may reflect different products, not a fix`,
    );
  } else if (a === undefined || b === undefined) {
    const which =
      a === undefined && b === undefined
        ? 'both images'
        : a === undefined
          ? 'the base image'
          : 'the next image';
    warnings.push(`the lineage of ${which} is unknown, so the two runs may not be of one product`);
  }
  for (const [name, report] of [
    ['base', base],
    ['next', next],
  ] as const) {
    if (
      report.verdict.status === 'incomplete' ||
      report.stages.some((s) => s.status === 'failed')
    ) {
      warnings.push(
        `the ${name} run did not finish, so a leak missing from it may only be unobserved`,
      );
    }
  }
  const unread = unreadClause(next.opaque);
  if (unread) {
    warnings.push(`in the next run ${unread}; a leak in those flows would not show in this diff`);
  }
  const nextPlanted = plantedKinds(next);
  const unplanted = [...plantedKinds(base)].filter((kind) => !nextPlanted.has(kind));
  if (next.canaries.length > 0 && unplanted.length > 0) {
    warnings.push(
      `kinds planted in base but not in next cannot leak in next, so "fixed" means nothing for them: ${unplanted.join(', ')}`,
    );
  }
  return warnings;
}

const kindOrder = (kind: CanaryKind): number => CANARY_KINDS.indexOf(kind);
const statusOrder: Record<ChannelStatus, number> = { fixed: 0, hidden: 1, still: 2, new: 3 };

function diffChannels(base: Report, next: Report): ChannelDiff[] {
  const hiding = new HidingFinder(base, next);
  const merged = new Map<string, ChannelDiff>();
  for (const [report, which] of [
    [base, 'base'],
    [next, 'next'],
  ] as const) {
    for (const channel of report.summary.channels) {
      const key = channelKey(channel.kind, channel.host, channel.app);
      let entry = merged.get(key);
      if (!entry) {
        entry = { kind: channel.kind, host: channel.host, base: 0, next: 0, status: 'new' };
        if (channel.app !== undefined) entry.app = channel.app;
        merged.set(key, entry);
      }
      entry[which] += channel.leaks;
    }
  }
  const channels = [...merged.values()];
  for (const channel of channels) {
    // A channel is listed because it leaked in at least one run, so it is never 'none'.
    if (channel.base === 0) channel.status = 'new';
    else if (channel.next > 0) channel.status = 'still';
    else {
      const hiddenBy = hiding.find(channel);
      channel.status = hiddenBy ? 'hidden' : 'fixed';
      if (hiddenBy) channel.hiddenBy = hiddenBy;
    }
  }
  return channels.sort(
    (x, y) =>
      statusOrder[x.status] - statusOrder[y.status] ||
      kindOrder(x.kind) - kindOrder(y.kind) ||
      x.host.localeCompare(y.host) ||
      (x.app ?? '').localeCompare(y.app ?? ''),
  );
}

export function diffReports(base: Report, next: Report): ReportDiff {
  const baseCounts = leaksPerKind(base);
  const nextCounts = leaksPerKind(next);
  const seen = new Set<CanaryKind>([
    ...plantedKinds(base),
    ...plantedKinds(next),
    ...baseCounts.keys(),
    ...nextCounts.keys(),
  ]);
  const channels = diffChannels(base, next);
  const hiddenKinds = new Set(channels.filter((c) => c.status === 'hidden').map((c) => c.kind));
  const kinds: KindDiff[] = [...seen]
    .sort((a, b) => kindOrder(a) - kindOrder(b))
    .map((kind) => {
      const [b, n] = [baseCounts.get(kind) ?? 0, nextCounts.get(kind) ?? 0];
      return { kind, base: b, next: n, status: statusOf(b, n, hiddenKinds.has(kind)) };
    });
  const group = (status: ChannelStatus): DiffGroup => ({
    kinds: kinds.filter((k) => k.status === status).map((k) => k.kind),
    channels: channels.filter((c) => c.status === status),
  });
  const consents = consentChanges(base, next);
  const cause = consentCause(consents, group('fixed').kinds.length, group('new').kinds.length);
  const baseHosts = new Set(base.destinations.map((d) => d.host));
  const nextHosts = new Set(next.destinations.map((d) => d.host));
  return {
    version: 1,
    base: side(base),
    next: side(next),
    consents,
    ...(cause ? { cause } : {}),
    warnings: [...diffWarnings(base, next), ...uiWarnings(base, next)],
    fixed: group('fixed'),
    hidden: group('hidden'),
    stillLeaking: group('still'),
    new: group('new'),
    newDestinations: [...nextHosts].filter((h) => !baseHosts.has(h)).sort(),
    goneDestinations: [...baseHosts].filter((h) => !nextHosts.has(h)).sort(),
    kinds,
    channels,
    capabilities: diffCapabilities(base, next),
  };
}

export type { ConsentChange } from './diff-consents.ts';
export type { Hiding, HidingEvidence, HidingMatch } from './diff-hidden.ts';
export type {
  CapabilityDiff,
  CapabilityId,
  CapabilityPresence,
  CapabilityStatus,
} from './diff-capabilities.ts';
