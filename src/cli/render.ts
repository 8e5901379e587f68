import type { Leak } from '../correlate/types.ts';
import type { AnalysisProgress } from '../queue/job-data.ts';
import { waitingText, type WaitingFor } from '../queue/waiting.ts';
import type { Report } from '../report/model.ts';
import { terminalSafe } from '../terminal-text.ts';

// Every line here quotes the image, its traffic or its report, so each is made terminal-safe
// (terminal-text.ts); escaping twice changes nothing, so a line may embed another's output.

/** One line for a leak: what, where to, from which app, through which transforms. */
export function leakLine(leak: Leak): string {
  const host = leak.destination.host ?? leak.destination.ip ?? '?';
  const port = leak.destination.port ? `:${leak.destination.port}` : '';
  const app = leak.app ?? 'unknown app';
  return terminalSafe(
    `${leak.canary.kind} ${leak.canary.value} → ${host}${port} from ${app} via ${leak.transforms.join(' → ') || 'plain'}`,
  );
}

/** One line per progress event of `watch` and `submit --wait`. */
export function progressLine(progress: AnalysisProgress): string {
  return terminalSafe(progressText(progress));
}

/** What `watch` says of a run not yet taken; nothing once a worker took it. */
export function waitingLine(waiting: WaitingFor | undefined): string | undefined {
  return waiting ? waitingText(waiting) : undefined;
}

function progressText(progress: AnalysisProgress): string {
  if (progress.type === 'leak') return `  LEAK ${leakLine(progress.leak)}`;
  if (progress.type === 'note') return `  … ${progress.message}`;
  const step = `[${progress.index + 1}/${progress.total}] ${progress.stage}`;
  if (progress.status === 'started') return `${step} …`;
  if (progress.status === 'failed') return `${step} FAILED: ${progress.message ?? ''}`;
  if (progress.status === 'skipped') return `${step} skipped: ${progress.message ?? ''}`;
  return `${step} done${progress.message ? `: ${progress.message}` : ''}`;
}

/** The leak summary that ends `watch`, `submit --wait` and the demo: one line per canary kind. */
export function leakSummary(report: Report): string {
  const lines = [`Verdict: ${report.verdict.status} — ${report.verdict.summary}`];
  for (const a of report.run.earlierAttempts ?? [])
    lines.push(
      `Attempt ${a.attempt} (not in this report): ${a.outcome} — ${a.reason}; ${a.flows} flows kept in ${a.dir}/`,
    );
  if (report.containment?.status === 'verified') lines.push('Containment: verified');
  else if (report.containment?.status === 'uncontained')
    lines.push(`Containment: NONE — the device ran uncaged (${report.containment.reason})`);
  const byKind = new Map<string, Leak[]>();
  for (const leak of report.leaks) {
    const list = byKind.get(leak.canary.kind) ?? [];
    list.push(leak);
    byKind.set(leak.canary.kind, list);
  }
  for (const [kind, leaks] of [...byKind.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const channels = new Map<string, string>();
    for (const leak of leaks) {
      const host = leak.destination.host ?? leak.destination.ip ?? '?';
      const key = `${host}|${leak.app ?? ''}|${leak.transforms.join('>')}`;
      channels.set(
        key,
        `${host} from ${leak.app ?? 'unknown app'} via ${leak.transforms.join(' → ') || 'plain'}`,
      );
    }
    lines.push(
      `  ${kind.padEnd(13)} ${String(leaks.length).padStart(3)} leak${leaks.length === 1 ? ' ' : 's'}  ${[...channels.values()].join('; ')}`,
    );
  }
  for (const limitation of report.limitations) lines.push(`  note: ${limitation}`);
  return lines.map(terminalSafe).join('\n');
}
