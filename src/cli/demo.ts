import type { Command } from 'commander';
import { enqueueAnalysis, openAnalysisQueue } from '../queue/analysis-queue.ts';
import { ensureRedis } from '../queue/connection.ts';
import { newRunId } from '../run/run-dir.ts';
import { diffReports, renderDiffText } from '../report/diff.ts';
import type { Config } from '../config.ts';
import { EXIT } from './exit-codes.ts';
import { resolveImageArgument } from './image-argument.ts';
import { loadReport } from './report.ts';
import { action, cliRuntime } from './runtime.ts';
import { watchRun } from './watch.ts';
import { startWorker } from './worker.ts';

async function runOne(
  image: string,
  config: Config,
  redisUrl: string,
  baselineRunId?: string,
): Promise<{ runId: string; code: number }> {
  const resolved = await resolveImageArgument(image, config);
  const runId = newRunId();
  const queue = openAnalysisQueue(redisUrl, config.queuePrefix);
  try {
    await enqueueAnalysis(queue, {
      runId,
      imagePath: resolved.path,
      imageLabel: resolved.label,
      ...(baselineRunId ? { baselineRunId } : {}),
      options: {},
    });
  } finally {
    await queue.close();
  }
  process.stdout.write(`\n== ${image}: run ${runId}\n`);
  return { runId, code: await watchRun(runId, { config, redisUrl, timeoutMs: 170_000 }) };
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'the whole pipeline on the lab phone: runs the bundled adups-2016 image and prints its leaks',
    )
    .option('--with-fix', "also run the vendor's fixed image (adups-2016-fixed) and print the diff")
    .addHelpText(
      'after',
      '\nStarts a private Redis and a worker when none is configured. Exit codes: 0 done, 4 a run failed, 5 missing dependency.',
    )
    .action(
      action(async (flags: { withFix?: boolean }) => {
        const { config, logger } = cliRuntime();
        const redis = await ensureRedis(config);
        const worker = startWorker(redis.url, config, logger, 1);
        try {
          const first = await runOne('adups-2016', config, redis.url);
          if (first.code !== EXIT.ok || !flags.withFix) return first.code;
          const second = await runOne('adups-2016-fixed', config, redis.url, first.runId);
          if (second.code !== EXIT.ok) return second.code;
          const diff = diffReports(
            await loadReport(config, first.runId),
            await loadReport(config, second.runId),
          );
          process.stdout.write(
            `\n== diff ${first.runId} → ${second.runId}\n${renderDiffText(diff)}\n`,
          );
          return EXIT.ok;
        } finally {
          await worker.close();
          await redis.owned?.stop();
        }
      }),
    );
}
