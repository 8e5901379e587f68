import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before } from 'node:test';
import { resolveImageArgument } from '../../src/cli/image-argument.ts';
import { loadReport } from '../../src/cli/report.ts';
import { startWorker } from '../../src/cli/worker.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { enqueueAnalysis, openAnalysisQueue } from '../../src/queue/analysis-queue.ts';
import { followRun } from '../../src/queue/follow.ts';
import type { AnalysisOptions, AnalysisProgress } from '../../src/queue/job-data.ts';
import type { Report } from '../../src/report/model.ts';
import { newRunId } from '../../src/run/run-dir.ts';
import { startPipelineEnv, type PipelineEnv } from './pipeline-env.ts';

export interface RunRequest {
  /** The job's image label; default the resolved one (a lab image's name, a file's name). */
  label?: string;
  baselineRunId?: string;
  options?: AnalysisOptions;
  timeoutMs?: number;
}

export interface FinishedRun {
  runId: string;
  progress: AnalysisProgress[];
  status: 'completed' | 'failed';
  /** Why the job failed; '' when it completed. */
  reason: string;
}

export interface PipelineWorld {
  /** The world's config, with the file's overrides applied. */
  config: Config;
  env: PipelineEnv;
  /** Queues one analysis of a lab image name or a path and follows it to its end. */
  run(image: string, request?: RunRequest): Promise<FinishedRun>;
  /** `run`, asserting the job completed, with its report. */
  analyse(image: string, request?: RunRequest): Promise<FinishedRun & { report: Report }>;
  /** Closes the worker now (a test of what closing leaves behind); after() then skips it. */
  stopWorker(): Promise<void>;
}

/**
 * A test file's pipeline: a private Redis, adb server port and data root (startPipelineEnv) and a
 * worker on them, started before the file's tests and stopped after them.
 */
export function usePipelineWorld(
  options: {
    concurrency?: number;
    /** Environment overrides for the worker's config, made once the private world exists. */
    env?: (pipeline: PipelineEnv) => Promise<Record<string, string>>;
  } = {},
): PipelineWorld {
  let env: PipelineEnv | undefined;
  let config: Config | undefined;
  let worker: ReturnType<typeof startWorker> | undefined;
  const ready = (): { env: PipelineEnv; config: Config } => {
    if (!env || !config) throw new Error('the pipeline world is used before its before() hook');
    return { env, config };
  };

  before(async () => {
    env = await startPipelineEnv();
    config = options.env
      ? loadConfig({ ...env.env, ...(await options.env(env)) }, process.cwd())
      : env.config;
    await mkdir(config.dataRoot, { recursive: true });
    worker = startWorker(env.redis.url, config, silentLogger(), options.concurrency ?? 1);
  });
  after(async () => {
    await worker?.close();
    await env?.close();
  });

  const world: PipelineWorld = {
    get config() {
      return ready().config;
    },
    get env() {
      return ready().env;
    },
    async run(image, request = {}) {
      const { env: pipeline, config: cfg } = ready();
      const resolved = await resolveImageArgument(image, cfg);
      const runId = newRunId();
      const queue = openAnalysisQueue(pipeline.redis.url, cfg.queuePrefix);
      try {
        await enqueueAnalysis(queue, {
          runId,
          imagePath: resolved.path,
          imageLabel: request.label ?? resolved.label,
          ...(request.baselineRunId ? { baselineRunId: request.baselineRunId } : {}),
          options: request.options ?? {},
        });
      } finally {
        await queue.close();
      }
      const progress: AnalysisProgress[] = [];
      const outcome = await followRun({
        redisUrl: pipeline.redis.url,
        prefix: cfg.queuePrefix,
        runId,
        onProgress: (p) => progress.push(p),
        timeoutMs: request.timeoutMs ?? 170_000,
      });
      return {
        runId,
        progress,
        status: outcome.status,
        reason: outcome.status === 'failed' ? outcome.reason : '',
      };
    },
    async stopWorker() {
      const closing = worker;
      worker = undefined;
      await closing?.close();
    },
    async analyse(image, request) {
      const finished = await world.run(image, request);
      assert.equal(finished.status, 'completed', finished.reason);
      return { ...finished, report: await loadReport(ready().config, finished.runId) };
    },
  };
  return world;
}
