import type { Command } from 'commander';
import { sweepCages } from '../capture/cage/index.ts';
import { cageStateDir, type Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { ensureRedis } from '../queue/connection.ts';
import { startAnalysisWorker, type ServedLanes, type WorkerHandle } from '../queue/worker.ts';
import { appiumServerFor } from '../ui/appium-server.ts';
import { wholeNumberFlag } from './flags.ts';
import { InputError } from '../errors.ts';
import { action, cliRuntime } from './runtime.ts';

/**
 * The analysis and every stage it runs (proxy, devices, Appium's client, correlation) take
 * seconds to load: loaded by the first job, so a worker is up, or refuses a bad flag or Redis
 * URL, without waiting for them.
 */
let analysis: Promise<typeof import('../../jobs/analysis.ts')> | undefined;
const loadAnalysis = () => (analysis ??= import('../../jobs/analysis.ts'));

/** Analyses one worker runs at once: each boots a device, so more than this is a typo. */
export const WORKER_CONCURRENCY = { min: 1, max: 64 } as const;

export function startWorker(
  redisUrl: string,
  config: Config,
  logger: Logger,
  concurrency: number,
): WorkerHandle {
  // One Appium server for the host, started by the first run that drives a UI.
  const appium = appiumServerFor(config, logger);
  return startAnalysisWorker({
    redisUrl,
    config,
    logger,
    concurrency,
    processor: async (job, signal) =>
      (await loadAnalysis()).processAnalysis(job, { config, logger, appium }, signal),
    onClose: () => appium.stop(),
  });
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      'run analyses from the queue until interrupted (starts the embedded Redis of the data root when none is configured)',
    )
    .option('--concurrency <n>', 'analyses run at once on this host', '1')
    .option(
      '--metrics <host:port>',
      'serve Prometheus metrics (slots, devices in use, runs ended) at http://<host:port>/metrics',
    )
    .addHelpText(
      'after',
      `\nStops cleanly on SIGINT/SIGTERM: running devices are torn down. Exit codes: 0 stopped, 2 --concurrency not ${WORKER_CONCURRENCY.min}–${WORKER_CONCURRENCY.max}, 5 no Redis.`,
    )
    .action(
      action(async (flags: { concurrency: string; metrics?: string }) => {
        const { config, logger } = cliRuntime();
        const concurrency = wholeNumberFlag(flags.concurrency, {
          flag: '--concurrency',
          ...WORKER_CONCURRENCY,
          code: 'concurrency-invalid',
          expect: 'the number of analyses to run at once',
        });
        const metricsAddress =
          flags.metrics === undefined ? undefined : listenAddress(flags.metrics);
        // A worker killed mid-run (even by SIGKILL) left its cages; nothing else removes them.
        const swept = await sweepCages({ stateDir: cageStateDir(config), logger }).catch(
          (error: unknown) => {
            logger.warn({ err: error }, 'cage sweep failed');
            return [];
          },
        );
        if (swept.length > 0) logger.info({ swept }, 'removed cages of dead workers');
        const redis = await ensureRedis(config, logger);
        // Loaded now, in the background, rather than when the first job arrives.
        void loadAnalysis().catch(() => undefined);
        const worker = startWorker(redis.url, config, logger, concurrency);
        const served = await worker.ready;
        const metrics = metricsAddress
          ? await (
              await import('../queue/worker-metrics.ts')
            )
              .serveWorkerMetrics(worker, metricsAddress.host, metricsAddress.port)
              .catch(async (error: unknown) => {
                await worker.close();
                await redis.embedded?.release();
                throw error;
              })
          : undefined;
        if (metrics) process.stdout.write(`metrics at ${metrics.url}\n`);
        process.stdout.write(
          `worker up (${servedLine(served, concurrency)}), queue on ${redis.url}${redis.embedded ? ` (embedded Redis, data in ${redis.embedded.record.dir})` : ''}\n`,
        );
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        process.stdout.write('stopping: waiting for running analyses to tear down…\n');
        await metrics?.close();
        await worker.close();
        await redis.embedded?.release();
        return 0;
      }),
    );
}

/** `concurrency 2, can run: lab-phone, x86_64; not kvm (ANDROID_HOME is not set); lanes: any`. */
function servedLine(served: ServedLanes, asked: number): string {
  const lacking = Object.entries(served.capabilities.missing).map(
    ([capability, why]) => `not ${capability} (${why})`,
  );
  return [
    `concurrency ${served.slots}${served.limitedBy ? ` of ${asked} asked: ${served.limitedBy}` : ''}`,
    `can run: ${served.capabilities.capabilities.join(', ')}`,
    ...lacking,
    `lanes: ${served.lanes.join(', ')}`,
  ].join('; ');
}

/** `--metrics 127.0.0.1:9464` (or `[::1]:9464`, or `:9464` for every address). */
function listenAddress(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InputError('port-invalid', `--metrics ${JSON.stringify(text)} is not host:port`, {
      hint: 'e.g. --metrics 127.0.0.1:9464, or --metrics :9464 for every address',
    });
  }
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}
