/** The diff for the CLI: short, aligned, one line per canary kind, then one line per changed channel. */
import type { ChannelDiff, KindStatus, ReportDiff } from './diff.ts';
import { padEnd, padStart, terminalSafe } from './text-safe.ts';

const KIND_STATUS_WORDS: Record<KindStatus, string> = {
  fixed: 'fixed',
  still: 'still leaking',
  new: 'NEW',
  none: '-',
};

function channelLine(channel: ChannelDiff, hostWidth: number): string {
  const app = channel.app === undefined ? 'unknown app' : channel.app;
  return `  ${padEnd(KIND_STATUS_WORDS[channel.status], 14)} ${padEnd(channel.kind, 13)} → ${padEnd(
    terminalSafe(channel.host),
    hostWidth,
  )} ${padEnd(terminalSafe(app), 28)} ${padStart(String(channel.base), 6)} → ${channel.next}`;
}

export function renderDiffText(diff: ReportDiff): string {
  const s = terminalSafe;
  const lines: string[] = [];
  lines.push(
    `base  ${s(diff.base.image.name)}  run ${s(diff.base.runId)}  ${diff.base.leaks} leaks`,
  );
  lines.push(
    `next  ${s(diff.next.image.name)}  run ${s(diff.next.runId)}  ${diff.next.leaks} leaks`,
  );
  for (const warning of diff.warnings) lines.push(`warning: ${s(warning)}`);
  lines.push('');
  lines.push(`${padEnd('kind', 14)} ${padStart('base', 6)} ${padStart('next', 6)}  status`);
  for (const kind of diff.kinds) {
    lines.push(
      `${padEnd(kind.kind, 14)} ${padStart(String(kind.base), 6)} ${padStart(String(kind.next), 6)}  ${KIND_STATUS_WORDS[kind.status]}`,
    );
  }
  if (diff.channels.length > 0) {
    const hostWidth = Math.min(40, Math.max(...diff.channels.map((c) => [...s(c.host)].length)));
    lines.push('');
    lines.push('channels (kind → host, app: base → next leaks)');
    for (const channel of diff.channels) lines.push(channelLine(channel, hostWidth));
  }
  if (diff.newDestinations.length > 0) {
    lines.push('');
    lines.push(`new destinations: ${diff.newDestinations.map(s).join(', ')}`);
  }
  lines.push('');
  lines.push(
    `${diff.fixed.kinds.length} fixed, ${diff.stillLeaking.kinds.length} still leaking, ${diff.new.kinds.length} new (canary kinds)`,
  );
  return `${lines.join('\n')}\n`;
}
