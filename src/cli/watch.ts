import type { Command } from 'commander';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { requireRedis } from '../queue/connection.ts';
import { followRun } from '../queue/follow.ts';
import { RUN_FILES, runDirFor } from '../run/run-dir.ts';
import { readRunReport } from '../run/run-report.ts';
import { terminalSafe } from '../terminal-text.ts';
import { EXIT } from './exit-codes.ts';
import { timeoutFlagMs } from './flags.ts';
import { assertRunId } from './image-argument.ts';
import { leakSummary, progressLine, waitingLine } from './render.ts';
import { action, cliRuntime } from './runtime.ts';

/** Follows a run live; prints stage moves and each leak, then the summary and the report path. */
export async function watchRun(
  runId: string,
  options: { config: Config; redisUrl: string; timeoutMs?: number },
): Promise<number> {
  const outcome = await followRun({
    redisUrl: options.redisUrl,
    prefix: options.config.queuePrefix,
    runId,
    onProgress: (progress) => process.stdout.write(`${progressLine(progress)}\n`),
    onWaiting: (waiting) => {
      const line = waitingLine(waiting);
      if (line) process.stdout.write(`${line}\n`);
    },
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  if (outcome.status === 'failed') {
    process.stderr.write(`canarytrap: run ${runId} failed: ${terminalSafe(outcome.reason)}\n`);
    return EXIT.runFailed;
  }
  const runDir = runDirFor(options.config.dataRoot, runId);
  const report = await readRunReport(options.config.dataRoot, runId);
  process.stdout.write(
    `\n${leakSummary(report)}\n\nReport: ${terminalSafe(join(runDir, RUN_FILES.reportHtml))}\n`,
  );
  return EXIT.ok;
}

export function registerWatch(program: Command): void {
  program
    .command('watch')
    .description(
      'follow a run live: stage progress and each leak as it is found, then the leak summary',
    )
    .argument('<run>', 'run id (as printed by submit)')
    .option('--timeout <seconds>', 'give up after this many seconds')
    .addHelpText(
      'after',
      '\nExit codes: 0 finished, 2 bad --timeout, 3 unknown run, 4 run failed, 5 no Redis/worker.',
    )
    .action(
      action(async (run: string, flags: { timeout?: string }) => {
        const { config } = cliRuntime();
        const runId = assertRunId(run);
        const timeoutMs = flags.timeout === undefined ? undefined : timeoutFlagMs(flags.timeout);
        const redisUrl = await requireRedis(config);
        return watchRun(runId, { config, redisUrl, timeoutMs });
      }),
    );
}
