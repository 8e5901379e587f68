import type { Command } from 'commander';
import { InputError } from '../errors.ts';
import { openAnalysisQueue } from '../queue/analysis-queue.ts';
import { cancelRun, isCancelReason } from '../queue/cancel.ts';
import { requireRedis } from '../queue/connection.ts';
import { followRun } from '../queue/follow.ts';
import { terminalSafe } from '../terminal-text.ts';
import { EXIT } from './exit-codes.ts';
import { timeoutFlagMs } from './flags.ts';
import { assertRunId } from './image-argument.ts';
import { action, cliRuntime } from './runtime.ts';

export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description(
      'cancel a run: a queued one is removed; a running one is stopped by its worker, which tears its device down',
    )
    .argument('<run>', 'run id (as printed by submit)')
    .option('--wait', 'wait until a running run has stopped')
    .option('--timeout <seconds>', 'with --wait, give up after this many seconds', '60')
    .addHelpText(
      'after',
      '\nExit codes: 0 cancelled (or asked to stop), 2 bad --timeout, 3 unknown or already finished run, 4 the run finished before it could be stopped, 5 no Redis/worker.',
    )
    .action(
      action(async (run: string, flags: { wait?: boolean; timeout: string }) => {
        const { config } = cliRuntime();
        const runId = assertRunId(run);
        const timeoutMs = timeoutFlagMs(flags.timeout);
        const redisUrl = await requireRedis(config);
        const queue = openAnalysisQueue(redisUrl, config.queuePrefix);
        let outcome: Awaited<ReturnType<typeof cancelRun>>;
        try {
          outcome = await cancelRun(queue, runId);
        } finally {
          await queue.close();
        }
        switch (outcome.outcome) {
          case 'not-found':
            throw new InputError('run-not-found', `no run ${runId} in the queue`, {
              hint: 'list runs with `canarytrap serve`, or check CANARYTRAP_QUEUE_PREFIX',
            });
          case 'finished':
            throw new InputError('run-finished', `run ${runId} has already ${outcome.state}`);
          case 'removed':
            process.stdout.write(`run ${runId} was queued: removed, it will not run\n`);
            return EXIT.ok;
          case 'cancelling':
            break;
        }
        process.stdout.write(`run ${runId} is running: its worker was asked to stop it\n`);
        if (!flags.wait) return EXIT.ok;
        const ended = await followRun({
          redisUrl,
          prefix: config.queuePrefix,
          runId,
          onProgress: () => undefined,
          timeoutMs,
        });
        if (ended.status === 'failed' && isCancelReason(ended.reason)) {
          process.stdout.write(`run ${runId} stopped: ${terminalSafe(ended.reason)}\n`);
          return EXIT.ok;
        }
        process.stderr.write(
          `canarytrap: run ${runId} ended before it could be stopped (${ended.status})\n`,
        );
        return EXIT.runFailed;
      }),
    );
}
