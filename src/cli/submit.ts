import { ANALYSIS_DEFAULTS, LAUNCHER_NAMES } from '../config.ts';
import type { Command } from 'commander';
import { InputError } from '../errors.ts';
import { enqueueAnalysis, openAnalysisQueue } from '../queue/analysis-queue.ts';
import { requireRedis } from '../queue/connection.ts';
import type { AnalysisOptions } from '../queue/job-data.ts';
import { numberFromText, parseAnalysisOptions } from '../queue/job-options.ts';
import { IMAGE_ABIS } from '../queue/lanes.ts';
import { analysisJobData, resolveImageArgument } from '../run/image-argument.ts';
import { withSharedImage } from '../run/shared-image.ts';
import { collect, uiJobOptions } from '../ui/job-options.ts';
import { terminalSafe } from '../terminal-text.ts';
import { assertRunId } from './image-argument.ts';
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
  launcher?: string;
  abi?: string;
}

/** The numeric run options as flags, each checked alone so the refusal names its flag. */
const COUNT_FLAGS = [
  ['--per-provider', 'perProvider'],
  ['--advance-hours', 'advanceHours'],
] as const;

function runCounts(flags: SubmitFlags): AnalysisOptions {
  let counts: AnalysisOptions = {};
  for (const [flag, key] of COUNT_FLAGS) {
    const text = flags[key] ?? String(ANALYSIS_DEFAULTS[key]);
    try {
      counts = { ...counts, ...parseAnalysisOptions({ [key]: numberFromText(text) }) };
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      throw new InputError(error.code, `${flag} ${JSON.stringify(text)}: ${error.message}`, {
        cause: error,
        hint: error.hint,
      });
    }
  }
  return counts;
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
      '--launcher <name>',
      `boot on this launcher (${LAUNCHER_NAMES.join(', ')}); default: chosen by the worker from the image. sdk-emulator runs need a worker with KVM`,
    )
    .option(
      '--abi <abi>',
      `the image's ABI for the SDK emulator (${IMAGE_ABIS.join(', ')}; default x86_64): only a host of that architecture takes the run`,
    )
    .option(
      '--uncontained',
      'run without a network cage even where none can be made: traffic may leave this host, and the report says so',
    )
    .option('--json', 'print the run id as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 queued (or, with --wait, finished), 2 bad option, 3 bad image, 4 run failed, 5 no Redis/worker.',
    )
    .action(
      action(async (image: string, flags: SubmitFlags) => {
        const { config } = cliRuntime();
        const baselineRunId =
          flags.baseline === undefined ? undefined : assertRunId(flags.baseline);
        // The numbers first, through the schema the API uses: a bad flag is refused before an
        // image is built or Redis is asked.
        const counts = runCounts(flags);
        // A lab image is built first, which takes a while: Redis is checked before that.
        let redis: Promise<string> | undefined;
        const checkedRedis = () => (redis ??= requireRedis(config));
        const resolved = await resolveImageArgument(image, config, undefined, async () => {
          await checkedRedis();
        });
        // A bad plan or consent name is refused before the run is queued.
        const ui = await uiJobOptions(flags, resolved.label);
        const options = parseAnalysisOptions({
          ...counts,
          ...ui,
          uncontained: flags.uncontained,
          ...(flags.launcher !== undefined ? { launcher: flags.launcher } : {}),
          ...(flags.abi !== undefined ? { abi: flags.abi } : {}),
        });
        const redisUrl = await checkedRedis();
        const data = analysisJobData(resolved, {
          ...(baselineRunId ? { baselineRunId } : {}),
          options,
        });
        const queue = openAnalysisQueue(redisUrl, config.queuePrefix);
        try {
          await enqueueAnalysis(queue, await withSharedImage(config, data));
        } finally {
          await queue.close();
        }
        process.stdout.write(
          flags.json
            ? `${JSON.stringify({ runId: data.runId })}\n`
            : `queued run ${data.runId} (${terminalSafe(resolved.label)})\n`,
        );
        if (flags.wait) return watchRun(data.runId, { config, redisUrl });
        return 0;
      }),
    );
}
