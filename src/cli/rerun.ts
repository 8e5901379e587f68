import type { Command } from 'commander';
import { enqueueAnalysis, openAnalysisQueue } from '../queue/analysis-queue.ts';
import { requireRedis } from '../queue/connection.ts';
import { parseAnalysisOptions } from '../queue/job-options.ts';
import { resolveImageArgument } from '../run/image-argument.ts';
import { rerunJobData } from '../run/rerun.ts';
import { withSharedImage } from '../run/shared-image.ts';
import { assertRunId } from './image-argument.ts';
import { collect, uiJobOptions, type UiFlags } from '../ui/job-options.ts';
import { terminalSafe } from '../terminal-text.ts';
import { action, cliRuntime } from './runtime.ts';
import { watchRun } from './watch.ts';

interface RerunFlags extends UiFlags {
  image: string;
  wait?: boolean;
  json?: boolean;
}

export function registerRerun(program: Command): void {
  program
    .command('rerun')
    .description(
      "run a new image with an earlier run's settings, linked to it as its baseline (e.g. after a vendor update)",
    )
    .argument('<run>', 'the earlier run id')
    .requiredOption(
      '--image <image>',
      'the new image: a path or a lab image name such as adups-2016-fixed',
    )
    .option('--wait', 'follow the run live and end with its leak summary')
    .option(
      '--consent <name=decision>',
      "accept or refuse a consent, over the earlier run's decisions (repeatable)",
      collect,
    )
    .option('--plan <file>', "exercise plan (JSON); default the earlier run's plan")
    .option('--json', 'print the run id as JSON')
    .addHelpText(
      'after',
      '\nCompare afterwards with `canarytrap diff <run> <new run>`. Exit codes as for submit.',
    )
    .action(
      action(async (run: string, flags: RerunFlags) => {
        const { config } = cliRuntime();
        const baseRunId = assertRunId(run);
        const resolved = await resolveImageArgument(flags.image, config);
        const redisUrl = await requireRedis(config);
        const queue = openAnalysisQueue(redisUrl, config.queuePrefix);
        let runId: string;
        try {
          const data = await rerunJobData(queue, config, baseRunId, resolved);
          // The earlier run's options are checked again: it may have been queued before the
          // schema refused what it holds.
          data.options = parseAnalysisOptions({
            ...data.options,
            ...(await uiJobOptions(flags, data.imageLabel, data.options)),
          });
          await enqueueAnalysis(queue, await withSharedImage(config, data));
          runId = data.runId;
        } finally {
          await queue.close();
        }
        process.stdout.write(
          flags.json
            ? `${JSON.stringify({ runId, baselineRunId: baseRunId })}\n`
            : `queued run ${runId} (${terminalSafe(resolved.label)}), baseline ${baseRunId}\n`,
        );
        if (flags.wait) return watchRun(runId, { config, redisUrl });
        return 0;
      }),
    );
}
