import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ImageStore } from '../../src/intake/index.ts';
import { buildLabImage } from '../../src/image-build/index.ts';
import type { ImageInventory } from '../../src/intake/index.ts';
import type { AnalysisProgress } from '../../src/queue/job-data.ts';
import { runDirFor } from '../../src/run/run-dir.ts';
import { usePipelineWorld } from '../support/pipeline-world.ts';

/**
 * A vendor image that cannot boot as it is (zeno-2019-erofs: erofs, arm64, no kernel) goes
 * through the whole pipeline: intake plans and builds the transplant onto base-api28, the lab
 * phone boots the built image, and the vendor app's leak is in the report with the plan, the
 * base, what moved and what could not.
 */

const world = usePipelineWorld();
// Half a day of device time: the boot upload this file looks for is due long before.
const analyse = (image: string) =>
  world.analyse(image, { label: image, options: { advanceHours: 12, stepHours: 12 } });

test(
  'zeno-2019-erofs runs as a transplant onto base-api28 and its analytics app leaks the IMEI',
  { timeout: 200_000 },
  async () => {
    const { runId, progress, report } = await analyse('zeno-2019-erofs');
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

    const html = await readFile(
      join(runDirFor(world.config.dataRoot, runId), 'report.html'),
      'utf8',
    );
    assert.match(html, /Booted the transplant onto base base-api28 \(API 28, x86_64\)/);
    assert.match(html, /Moved onto the base \(3\)/);
    assert.match(html, /Not moved \(1\)/);

    // The built image is in the store once, beside the vendor image and the base.
    const store = new ImageStore(world.config.dataRoot);
    const builtId = inventory.transplant?.imageId ?? '';
    const built = await store.get(builtId);
    assert.equal(built?.metadata.transplant?.base, 'base-api28');
    const again = await analyse('zeno-2019-erofs');
    const second = again.report.inventory as ImageInventory;
    assert.equal(second.transplant?.imageId, builtId);
    assert.equal(second.transplant?.reused, true, 'the second run reuses the built transplant');
  },
);

test(
  'a vendor image of an API level without a base runs static-only: device stages skipped with the reason, a report of its static findings',
  { timeout: 120_000 },
  async () => {
    const json = JSON.parse(await readFile('images/lab/zeno-2019-erofs.json', 'utf8')) as {
      build: Record<string, unknown>;
    };
    const path = join(world.config.dataRoot, 'zeno-api27.json');
    await writeFile(
      path,
      JSON.stringify({ ...json, name: 'zeno-api27', build: { ...json.build, sdk: 27 } }),
    );
    const built = await buildLabImage(path, join(world.config.dataRoot, 'built'));
    const { progress, report } = await analyse(built.zipPath);
    const skipped = progress.filter(
      (p): p is Extract<AnalysisProgress, { type: 'stage' }> =>
        p.type === 'stage' && p.status === 'skipped',
    );
    assert.deepEqual(
      skipped.map((p) => p.stage),
      ['boot', 'prepare', 'plant', 'exercise', 'collect', 'correlate'],
    );
    assert.match(skipped[0]?.message ?? '', /cannot run dynamically .*no lab base image of API 27/);
    assert.equal(report.verdict.status, 'incomplete');
    assert.match(report.verdict.summary, /^Not run dynamically/);
    assert.ok(
      report.limitations.some((l) => /^not run dynamically: .*API 27/.test(l)),
      report.limitations.join('\n'),
    );
    const inventory = report.inventory as ImageInventory;
    assert.equal(inventory.runPlan.mode, 'static-only');
    assert.ok(inventory.findings.some((f) => f.package === 'com.zeno.fota'));
    assert.equal(report.leaks.length, 0);
    assert.ok(
      !progress.some((p) => p.type === 'stage' && p.stage === 'boot' && p.status === 'started'),
      'no device is started for an image that cannot run',
    );
  },
);
