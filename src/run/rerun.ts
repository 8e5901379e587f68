import type { Config } from '../config.ts';
import { InputError } from '../errors.ts';
import { findRun, type QueueHandle } from '../queue/analysis-queue.ts';
import type { AnalysisJobData, AnalysisOptions } from '../queue/job-data.ts';
import { analysisJobData, type ResolvedImage } from './image-argument.ts';
import { RUN_FILES } from './run-dir.ts';
import { readRunFileText } from './run-files.ts';

/**
 * The settings of an earlier run, so a rerun plants a comparable canary profile. They are kept
 * in the run's job; a job aged out of the queue leaves the defaults, which every run starts from.
 */
export async function baselineOptions(
  queue: QueueHandle,
  config: Config,
  baseRunId: string,
): Promise<AnalysisOptions> {
  const job = await findRun(queue, baseRunId);
  if (job) return job.data.options;
  const known = (await readRunFileText(config.dataRoot, baseRunId, RUN_FILES.record)) !== undefined;
  if (!known) {
    throw new InputError('run-not-found', `no run ${baseRunId}`, {
      hint: 'give the id of an earlier run (canarytrap serve lists them)',
    });
  }
  return {};
}

/** Job data for a rerun of `baseRunId` on a new image, linked to its baseline. */
export async function rerunJobData(
  queue: QueueHandle,
  config: Config,
  baseRunId: string,
  image: ResolvedImage,
): Promise<AnalysisJobData> {
  const options = await baselineOptions(queue, config, baseRunId);
  return analysisJobData(image, { baselineRunId: baseRunId, options });
}
