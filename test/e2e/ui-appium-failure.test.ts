import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startWorker } from '../../src/cli/worker.ts';
import { resolveImageArgument } from '../../src/cli/image-argument.ts';
import { loadReport } from '../../src/cli/report.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { buildLabImage } from '../../src/intake/lab-build/build-lab-image.ts';
import { silentLogger } from '../../src/log.ts';
import { enqueueAnalysis, openAnalysisQueue } from '../../src/queue/analysis-queue.ts';
import { followRun } from '../../src/queue/follow.ts';
import type { Report } from '../../src/report/model.ts';
import { newRunId } from '../../src/run/run-dir.ts';
import { findAppiumProcesses, findLabPhoneProcesses } from '../support/leftovers.ts';
import { startPipelineEnv, type PipelineEnv } from '../support/pipeline-env.ts';

/** A clean image on Android 9: new enough for UiAutomator2, so the run tries to drive the UI. */
const API28 = fileURLToPath(new URL('../fixtures/ui/clean-api28.json', import.meta.url));

let world: PipelineEnv;
let config: Config;
let worker: ReturnType<typeof startWorker> | undefined;

before(async () => {
  world = await startPipelineEnv();
  // The Appium home holds no driver: Appium cannot drive anything on this worker.
  const emptyHome = join(world.config.dataRoot, '..', 'empty-appium-home');
  await mkdir(emptyHome, { recursive: true });
  config = loadConfig({ ...world.env, CANARYTRAP_APPIUM_HOME: emptyHome }, process.cwd());
  await mkdir(config.dataRoot, { recursive: true });
  worker = startWorker(world.redis.url, config, silentLogger(), 1);
});

after(async () => {
  await worker?.close();
  await world?.close();
});

async function analyse(imagePath: string, label: string): Promise<Report> {
  const runId = newRunId();
  const queue = openAnalysisQueue(world.redis.url, config.queuePrefix);
  await enqueueAnalysis(queue, {
    runId,
    imagePath,
    imageLabel: label,
    options: { advanceHours: 25, stepHours: 12, perProvider: 1 },
  });
  await queue.close();
  const outcome = await followRun({
    redisUrl: world.redis.url,
    prefix: config.queuePrefix,
    runId,
    onProgress: () => undefined,
    timeoutMs: 170_000,
  });
  assert.equal(outcome.status, 'completed', outcome.status === 'failed' ? outcome.reason : '');
  return loadReport(config, runId);
}

const ours = (args: string[]) => args.some((a) => a.includes(config.dataRoot));

test(
  'Appium failing to start is a clear limitation; the run completes with what it observed',
  { timeout: 200_000 },
  async () => {
    const built = await buildLabImage(API28, join(config.dataRoot, 'cache', 'lab-images'));
    const report = await analyse(built.zipPath, 'clean-api28');
    const limitation = report.limitations.find((l) => l.startsWith('UI driving failed'));
    assert.ok(limitation, report.limitations.join('\n'));
    assert.match(limitation, /appium-missing: the Appium home .* holds no UiAutomator2 driver/);
    assert.match(limitation, /scripts\/setup\.sh/, 'the limitation says what to do');
    const exercise = report.stages.find((s) => s.name === 'exercise');
    assert.equal(exercise?.status, 'done');
    assert.match(exercise.note ?? '', /UI driving failed; device clock advanced 2\d h/);
    assert.equal(report.verdict.status, 'no-leaks');
    assert.ok(report.summary.totals.flows > 0, 'the update check was still captured');
    assert.deepEqual(report.ui?.steps, []);
    // Nothing left: no Appium, no lab phone of this test's adb server.
    assert.deepEqual(
      (await findAppiumProcesses()).filter((p) => ours(p.args)),
      [],
    );
    const phones = await findLabPhoneProcesses();
    assert.deepEqual(
      phones.filter((p) => p.adbServerPort === config.adbServerPort),
      [],
    );
  },
);

test(
  'an image below Android 8.0 is not driven, and says why; Appium is not even tried',
  { timeout: 200_000 },
  async () => {
    const resolved = await resolveImageArgument('clean', config);
    const report = await analyse(resolved.path, 'clean');
    assert.ok(
      report.limitations.some((l) =>
        /^UI not driven: Appium's UiAutomator2 driver needs Android 8\.0 \(API 26\) or later, and this image is API 23/.test(
          l,
        ),
      ),
      report.limitations.join('\n'),
    );
    assert.ok(!report.limitations.some((l) => /appium-missing/.test(l)));
    assert.equal(report.ui, undefined);
  },
);
