import type { Command } from 'commander';
import { enqueueAnalysis, openAnalysisQueue } from '../queue/analysis-queue.ts';
import { withSharedImage } from '../run/shared-image.ts';
import { ensureRedis } from '../queue/connection.ts';
import { newRunId } from '../run/run-dir.ts';
import { diffReports } from '../report/diff.ts';
import { renderDiffText } from '../report/diff-text.ts';
import type { Config } from '../config.ts';
import type { AnalysisOptions } from '../queue/job-data.ts';
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
  options: AnalysisOptions = {},
): Promise<{ runId: string; code: number }> {
  const resolved = await resolveImageArgument(image, config);
  const runId = newRunId();
  const queue = openAnalysisQueue(redisUrl, config.queuePrefix);
  try {
    await enqueueAnalysis(
      queue,
      await withSharedImage(config, {
        runId,
        imagePath: resolved.path,
        imageLabel: resolved.label,
        ...(baselineRunId ? { baselineRunId } : {}),
        options,
      }),
    );
  } finally {
    await queue.close();
  }
  const consents = Object.entries(options.consents ?? {}).map(([name, d]) => `${name}=${d}`);
  process.stdout.write(
    `\n== ${image}${consents.length ? ` (${consents.join(', ')})` : ''}: run ${runId}\n`,
  );
  return { runId, code: await watchRun(runId, { config, redisUrl, timeoutMs: 170_000 }) };
}

/** Both runs of a pair are on the same image, so the diff shows only what the flip changed. */
async function printDiff(config: Config, baseRunId: string, nextRunId: string): Promise<void> {
  const diff = diffReports(
    await loadReport(config, baseRunId),
    await loadReport(config, nextRunId),
  );
  process.stdout.write(`\n== diff ${baseRunId} → ${nextRunId}\n${renderDiffText(diff)}\n`);
}

/** The consents whose refusal silences xiaomi-2021's analytics and its hidden SMS. */
const XIAOMI_REFUSED: AnalysisOptions = {
  consents: { 'experience-programme': 'refuse', 'cloud-account': 'refuse' },
};

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'the whole pipeline on the lab phone: runs the bundled adups-2016 image and prints its leaks',
    )
    .option('--with-fix', "also run the vendor's fixed image (adups-2016-fixed) and print the diff")
    .option(
      '--consents',
      'instead: run xiaomi-2021 twice through its setup wizard with Appium, consents accepted then refused, and print the diff',
    )
    .addHelpText(
      'after',
      '\nStarts the embedded Redis of the data root (unless CANARYTRAP_REDIS_URL is set) and a worker. Exit codes: 0 done, 4 a run failed, 5 missing dependency.',
    )
    .action(
      action(async (flags: { withFix?: boolean; consents?: boolean }) => {
        // The demo is read by a person even when piped: its log lines are never raw JSON.
        const { config, logger } = cliRuntime({ logFormat: 'pretty' });
        const redis = await ensureRedis(config, logger);
        const worker = startWorker(redis.url, config, logger, 1);
        try {
          if (flags.consents) {
            const accepted = await runOne('xiaomi-2021', config, redis.url);
            if (accepted.code !== EXIT.ok) return accepted.code;
            const refused = await runOne(
              'xiaomi-2021',
              config,
              redis.url,
              accepted.runId,
              XIAOMI_REFUSED,
            );
            if (refused.code !== EXIT.ok) return refused.code;
            await printDiff(config, accepted.runId, refused.runId);
            return EXIT.ok;
          }
          const first = await runOne('adups-2016', config, redis.url);
          if (first.code !== EXIT.ok || !flags.withFix) return first.code;
          const second = await runOne('adups-2016-fixed', config, redis.url, first.runId);
          if (second.code !== EXIT.ok) return second.code;
          await printDiff(config, first.runId, second.runId);
          return EXIT.ok;
        } finally {
          await worker.close();
          await redis.embedded?.release();
        }
      }),
    );
}
