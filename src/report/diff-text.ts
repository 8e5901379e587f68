/** The diff for the CLI: short, aligned, one line per canary kind, then one line per changed channel. */
import type { CapabilityStatus } from './diff-capabilities.ts';
import type { ChannelDiff, KindStatus, ReportDiff } from './diff.ts';
import { opaqueFlowLine } from './opaque.ts';
import { terminalSafe } from '../terminal-text.ts';
import { padEnd, padStart } from './text-columns.ts';
import { plural } from './verdict.ts';

const STATUS_WORDS: Record<KindStatus, string> = {
  fixed: 'fixed',
  hidden: 'HIDDEN',
  still: 'still leaking',
  new: 'NEW',
  none: '-',
};

const CAPABILITY_WORDS: Record<CapabilityStatus, string> = {
  fixed: 'removed',
  still: 'still present',
  new: 'NEW',
  none: '-',
};

const widest = (values: readonly string[], cap: number): number =>
  Math.min(cap, Math.max(0, ...values.map((v) => [...v].length)));

function channelLines(channels: readonly ChannelDiff[]): string[] {
  const hosts = channels.map((c) => terminalSafe(c.host));
  const apps = channels.map((c) => terminalSafe(c.app ?? 'unknown app'));
  const [hostWidth, appWidth] = [widest(hosts, 40), widest(apps, 40)];
  return channels.flatMap((c, i) => [
    `  ${padEnd(STATUS_WORDS[c.status], 13)}  ${padEnd(c.kind, 12)} → ${padEnd(hosts[i] ?? '', hostWidth)}  ` +
      `${padEnd(apps[i] ?? '', appWidth)}  ${padStart(String(c.base), 5)} → ${c.next}`,
    ...hidingLines(c),
  ]);
}

/** Under a hidden channel: the first unread flow of the next run that may carry it, and how many. */
function hidingLines(channel: ChannelDiff): string[] {
  const hiding = channel.hiddenBy;
  const first = hiding?.evidence[0];
  if (!hiding || !first) return [];
  const more = hiding.flows > 1 ? ` (and ${plural(hiding.flows - 1, 'more flow')})` : '';
  const by = first.match === 'host' ? 'to the same host' : 'from the same app';
  return [`      unread in next, ${by}${more}: ${opaqueFlowLine(first.flow)}`];
}

export function renderDiffText(diff: ReportDiff): string {
  const s = terminalSafe;
  const lines: string[] = [
    `base  ${s(diff.base.image.name)}  run ${s(diff.base.runId)}  ${plural(diff.base.leaks, 'leak')}`,
    `next  ${s(diff.next.image.name)}  run ${s(diff.next.runId)}  ${plural(diff.next.leaks, 'leak')}`,
    // A flipped consent explains the rest of the diff, so it comes first.
    ...(diff.cause ? [`cause: ${s(diff.cause)}`] : []),
    ...diff.warnings.map((warning) => `warning: ${s(warning)}`),
    '',
    `${padEnd('kind', 12)}  ${padStart('base', 6)}  ${padStart('next', 6)}  status`,
  ];
  const leaking = diff.kinds.filter((k) => k.status !== 'none');
  for (const kind of leaking) {
    lines.push(
      `${padEnd(kind.kind, 12)}  ${padStart(String(kind.base), 6)}  ${padStart(String(kind.next), 6)}  ${STATUS_WORDS[kind.status]}`,
    );
  }
  const quiet = diff.kinds.filter((k) => k.status === 'none').map((k) => k.kind);
  if (quiet.length > 0) lines.push(`no leak in either run: ${quiet.join(', ')}`);
  if (diff.hidden.kinds.length + diff.hidden.channels.length > 0) {
    lines.push(
      'HIDDEN: gone from next, but next sent flows capture could not read that may carry it; not a fix',
    );
  }
  if (diff.channels.length > 0) {
    lines.push(
      '',
      'channels (kind → host  app  base → next leaks)',
      ...channelLines(diff.channels),
    );
  }
  const capabilities = diff.capabilities.filter((c) => c.status !== 'none');
  if (capabilities.length > 0) {
    lines.push('', 'capabilities (base → next)');
    for (const c of capabilities) {
      lines.push(
        `  ${padEnd(CAPABILITY_WORDS[c.status], 15)}  ${c.title}: ${c.base.present ? 'yes' : 'no'} → ${c.next.present ? 'yes' : 'no'}`,
      );
      const shown = c.next.present ? c.next.evidence : c.base.evidence;
      for (const line of shown.slice(0, 3)) lines.push(`      ${s(line)}`);
    }
  }
  if (diff.newDestinations.length > 0) {
    lines.push('', `new destinations: ${diff.newDestinations.map((h) => s(h)).join(', ')}`);
  }
  lines.push(
    '',
    `${diff.fixed.kinds.length} fixed, ${diff.hidden.kinds.length} hidden, ${diff.stillLeaking.kinds.length} still leaking, ${diff.new.kinds.length} new (canary kinds)`,
  );
  // Each field from the images is escaped above (column widths count the escaped form); this
  // catches whatever else reached a line, such as a capability's evidence title.
  return `${lines.map(terminalSafe).join('\n')}\n`;
}
