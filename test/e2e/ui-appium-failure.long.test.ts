import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildLabImage } from '../../src/image-build/lab-images/build-lab-image.ts';
import { findAppiumProcesses, findLabPhoneProcesses } from '../support/leftovers.ts';
import { usePipelineWorld } from '../support/pipeline-world.ts';

/** A clean image on Android 9: new enough for UiAutomator2, so the run tries to drive the UI. */
const API28 = fileURLToPath(new URL('../fixtures/ui/clean-api28.json', import.meta.url));

// The Appium home holds no driver: Appium cannot drive anything on this worker.
const world = usePipelineWorld({
  env: async (pipeline) => {
    const emptyHome = join(pipeline.config.dataRoot, '..', 'empty-appium-home');
    await mkdir(emptyHome, { recursive: true });
    return { CANARYTRAP_APPIUM_HOME: emptyHome };
  },
});
const analyse = async (image: string, label: string) =>
  (
    await world.analyse(image, {
      label,
      options: { advanceHours: 25, stepHours: 12, perProvider: 1 },
    })
  ).report;

const ours = (args: string[]) => args.some((a) => a.includes(world.config.dataRoot));

test(
  'Appium failing to start is a clear limitation; the run completes with what it observed',
  { timeout: 200_000 },
  async () => {
    const built = await buildLabImage(API28, join(world.config.dataRoot, 'cache', 'lab-images'));
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
      phones.filter((p) => p.adbServerPort === world.config.adbServerPort),
      [],
    );
  },
);

test(
  'an image below Android 8.0 is not driven, and says why; Appium is not even tried',
  { timeout: 200_000 },
  async () => {
    const report = await analyse('clean', 'clean');
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
