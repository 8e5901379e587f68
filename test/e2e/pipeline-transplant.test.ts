import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { startWorker } from '../../src/cli/worker.ts';
import { resolveImageArgument } from '../../src/cli/image-argument.ts';
import { loadReport } from '../../src/cli/report.ts';
import { ImageStore } from '../../src/intake/index.ts';
import type { ImageInventory } from '../../src/intake/index.ts';
import { enqueueAnalysis, openAnalysisQueue } from '../../src/queue/analysis-queue.ts';
import { followRun } from '../../src/queue/follow.ts';
import type { AnalysisProgress } from '../../src/queue/job-data.ts';
import { newRunId } from '../../src/run/run-dir.ts';
import { silentLogger } from '../../src/log.ts';
import { startPipelineEnv, type PipelineEnv } from '../support/pipeline-env.ts';

/**
 * A vendor image that cannot boot as it is (zeno-2019-erofs: erofs, arm64, no kernel) goes
 * through the whole pipeline: intake plans and builds the transplant onto base-api28, the lab
 * phone boots the built image, and the vendor app's leak is in the report with the plan, the
 * base, what moved and what could not.
 */

let world: PipelineEnv;
let worker: ReturnType<typeof startWorker>;

before(async () => {
  world = await startPipelineEnv();
  await mkdir(world.config.dataRoot, { recursive: true });
  worker = startWorker(world.redis.url, world.config, silentLogger(), 1);
});

after(async () => {
  await worker?.close();
  await world?.close();
});

async function analyse(image: string): Promise<{ runId: string; progress: AnalysisProgress[] }> {
  const resolved = await resolveImageArgument(image, world.config);
  const runId = newRunId();
  const queue = openAnalysisQueue(world.redis.url, world.config.queuePrefix);
  await enqueueAnalysis(queue, {
    runId,
    imagePath: resolved.path,
    imageLabel: image,
    options: {},
  });
  await queue.close();
  const progress: AnalysisProgress[] = [];
  const outcome = await followRun({
    redisUrl: world.redis.url,
    prefix: world.config.queuePrefix,
    runId,
    onProgress: (p) => progress.push(p),
    timeoutMs: 170_000,
  });
  assert.equal(outcome.status, 'completed', outcome.status === 'failed' ? outcome.reason : '');
  return { runId, progress };
}

test(
  'zeno-2019-erofs runs as a transplant onto base-api28 and its analytics app leaks the IMEI',
  { timeout: 200_000 },
  async () => {
    const { runId, progress } = await analyse('zeno-2019-erofs');
    const intake = progress.find(
      (p) => p.type === 'stage' && p.stage === 'intake' && p.status === 'done',
    );
    assert.match(
      intake?.type === 'stage' ? (intake.message ?? '') : '',
      /3 vendor apps moved onto base-api28/,
    );
    const boot = progress.find(
      (p) => p.type === 'stage' && p.stage === 'boot' && p.status === 'done',
    );
    assert.match(boot?.type === 'stage' ? (boot.message ?? '') : '', /lab-phone/);
    const report = await loadReport(world.config, runId);

    const imei = report.leaks.find(
      (l) => l.canary.kind === 'imei' && l.destination.host === 'log.zenomobile.example',
    );
    assert.ok(
      imei,
      `leaks: ${report.leaks.map((l) => `${l.canary.kind}@${l.destination.host}`).join(', ')}`,
    );
    assert.equal(imei.app, 'com.zeno.analytics');
    assert.ok(imei.transforms.includes('gzip'), imei.transforms.join(' > '));
    assert.ok(
      report.leaks.some((l) => l.canary.kind === 'contact_name' && l.app === 'com.zeno.analytics'),
    );

    const inventory = report.inventory as ImageInventory;
    assert.equal(inventory.runPlan.mode, 'transplant');
    assert.equal(inventory.runPlan.transplant?.base.name, 'base-api28');
    assert.equal(inventory.transplant?.base.name, 'base-api28');
    assert.deepEqual(inventory.transplant?.moved.map((m) => m.package).sort(), [
      'com.zeno.analytics',
      'com.zeno.fota',
      'com.zeno.weather',
    ]);
    assert.deepEqual(
      inventory.transplant?.notMoved.map((m) => m.package),
      ['com.android.deskclock'],
    );
    // The vendor image's own inventory stays what the report shows as the image.
    assert.ok(inventory.apps.some((a) => a.path === '/system/app/DeskClock/DeskClock.apk'));
    assert.ok(
      report.limitations.some((l) =>
        /transplant onto base-api28: com\.zeno\.fota: .*platform signature/.test(l),
      ),
      report.limitations.join('\n'),
    );

    // The built image is in the store once, beside the vendor image and the base.
    const store = new ImageStore(world.config.dataRoot);
    const builtId = inventory.transplant?.imageId ?? '';
    const built = await store.get(builtId);
    assert.equal(built?.metadata.transplant?.base, 'base-api28');
    const again = await analyse('zeno-2019-erofs');
    const second = (await loadReport(world.config, again.runId)).inventory as ImageInventory;
    assert.equal(second.transplant?.imageId, builtId);
    assert.equal(second.transplant?.reused, true, 'the second run reuses the built transplant');
  },
);
