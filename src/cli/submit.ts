import { ANALYSIS_DEFAULTS } from '../config.ts';
import type { Command } from 'commander';
import { enqueueAnalysis, openAnalysisQueue } from '../queue/analysis-queue.ts';
import { requireRedis } from '../queue/connection.ts';
import { analysisJobData, resolveImageArgument } from '../run/image-argument.ts';
import { collect, uiJobOptions } from '../ui/index.ts';
import { action, cliRuntime } from './runtime.ts';
import { watchRun } from './watch.ts';

export interface SubmitFlags {
  wait?: boolean;
  baseline?: string;
  perProvider?: string;
  advanceHours?: string;
  json?: boolean;
  consent?: string[];
  plan?: string;
  uncontained?: boolean;
}

export function registerSubmit(program: Command): void {
  program
    .command('submit')
    .description(
      'queue an image for analysis: a path to an image (zip, directory, ext4, sparse) or a bundled lab image name',
    )
    .argument('<image>', 'image path, or a lab image name such as adups-2016')
    .option('--wait', 'follow the run live and end with its leak summary')
    .option('--baseline <run>', 'an earlier run of the same lineage this run is compared with')
    .option(
      '--per-provider <n>',
      'SMS, contacts and calls to plant of each',
      String(ANALYSIS_DEFAULTS.perProvider),
    )
    .option(
      '--advance-hours <h>',
      'device-clock hours to advance while exercising',
      String(ANALYSIS_DEFAULTS.advanceHours),
    )
    .option(
      '--consent <name=decision>',
      'accept or refuse a consent of the exercise plan, e.g. experience-programme=refuse (repeatable)',
      collect,
    )
    .option(
      '--plan <file>',
      'exercise plan (JSON) to drive the UI with; default images/plans/default.json',
    )
    .option(
      '--uncontained',
      'run without a network cage even where none can be made: traffic may leave this host, and the report says so',
    )
    .option('--json', 'print the run id as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 queued (or, with --wait, finished), 3 bad image, 4 run failed, 5 no Redis/worker.',
    )
    .action(
      action(async (image: string, flags: SubmitFlags) => {
        const { config } = cliRuntime();
        const resolved = await resolveImageArgument(image, config);
        // A bad plan or consent name is refused before anything needs Redis.
        const ui = await uiJobOptions(flags, resolved.label);
        const redisUrl = await requireRedis(config);
        const data = analysisJobData(resolved, {
          ...(flags.baseline ? { baselineRunId: flags.baseline } : {}),
          options: {
            perProvider: Number(flags.perProvider ?? ANALYSIS_DEFAULTS.perProvider),
            advanceHours: Number(flags.advanceHours ?? ANALYSIS_DEFAULTS.advanceHours),
            ...ui,
            ...(flags.uncontained ? { uncontained: true } : {}),
          },
        });
        const queue = openAnalysisQueue(redisUrl, config.queuePrefix);
        try {
          await enqueueAnalysis(queue, data);
        } finally {
          await queue.close();
        }
        process.stdout.write(
          flags.json
            ? `${JSON.stringify({ runId: data.runId })}\n`
            : `queued run ${data.runId} (${resolved.label})\n`,
        );
        if (flags.wait) return watchRun(data.runId, { config, redisUrl });
        return 0;
      }),
    );
}
