import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { AppiumServer, driveUi, loadPlan, parsePlan } from '../../src/ui/index.ts';
import { findAppiumProcesses } from '../support/leftovers.ts';
import { startLabBench } from '../support/lab-bench.ts';

const logger = silentLogger();
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

test(
  'the default plan through real Appium, WebdriverIO and adb on xiaomi-2021: setup finished, consents applied as decided, every step captured, nothing left behind',
  { timeout: 240_000 },
  async (t) => {
    const bench = await startLabBench(t, 'ui-drive');
    const { world, root } = bench;
    const { image, runDir, device: running } = await bench.boot('xiaomi-2021', { runName: 'run' });
    // Stopped before the device: the bench stops what it holds newest first.
    const appium = new AppiumServer({
      appiumHome: world.config.appiumHome,
      androidHome: world.config.appiumAndroidHome,
      adbServerPort: world.config.adbServerPort,
      logDir: join(root, 'logs'),
      logger,
    });
    bench.onStop(() => appium.stop());
    const setting = async (key: string) =>
      (await running.shell(`settings get secure ${key}`)).stdout.trim();
    assert.equal(await setting('user_setup_complete'), '0', 'the setup wizard shows at boot');

    const announced: string[] = [];
    const cleanups: string[] = [];
    const result = await driveUi({
      device: running,
      adb: world.adb,
      appium,
      plan: await loadPlan(),
      consents: { 'cloud-account': 'refuse' },
      runDir,
      packages: image.inventory.apps.map((a) => a.package),
      logger,
      announce: async (line) => {
        announced.push(line);
      },
      onCleanup: (name) => cleanups.push(name),
    });
    assert.equal(result.limitation, undefined, result.limitation);
    const ui = result.report;
    assert.ok(ui, 'a UI report');
    // The OS says what the taps did: setup finished, one consent given and one refused.
    assert.equal(await setting('user_setup_complete'), '1', announced.join('\n'));
    assert.equal(await setting('xiaomi_experience_program'), '1');
    assert.notEqual(await setting('xiaomi_cloud_enabled'), '1');
    assert.deepEqual(
      ui.consents.map((c) => [c.name, c.decision, c.source, c.shown]),
      [
        ['experience-programme', 'accept', 'plan', true],
        ['cloud-account', 'refuse', 'job', true],
        ['diagnostics', 'accept', 'plan', false],
      ],
    );
    const check = ui.steps.find((s) => s.consent === 'experience-programme');
    assert.equal(check?.action, 'check');
    assert.equal(check?.outcome, 'done');
    assert.match(check?.target ?? '', /experience_program/);
    const cloud = ui.steps.find((s) => s.consent === 'cloud-account');
    assert.equal(cloud?.note, 'left unchecked');
    const taps = ui.steps.filter((s) => s.step === 'finish-setup' && s.action === 'tap');
    assert.ok(taps.length >= 4, `four Next taps: ${announced.join('\n')}`);
    const browser = ui.steps.find(
      (s) => s.action === 'open-app' && s.target === 'com.android.browser',
    );
    assert.equal(browser?.outcome, 'done', announced.join('\n'));
    assert.equal(browser?.screen, 'com.android.browser');
    // Every captured step left a PNG and its page source, and was announced live.
    const captured = ui.steps.filter((s) => s.screenshot);
    assert.ok(captured.length >= 6);
    for (const step of captured) {
      const png = await readFile(join(runDir, step.screenshot ?? ''));
      assert.deepEqual(png.subarray(0, 8), PNG_MAGIC, step.screenshot);
      assert.match(await readFile(join(runDir, step.pageSource ?? ''), 'utf8'), /<hierarchy/);
    }
    assert.equal(announced.length, ui.steps.length);
    assert.match(announced[0] ?? '', /^ui 01 finish-setup: observe/);
    assert.deepEqual(
      (await readdir(join(runDir, 'ui'))).filter((f) => f.endsWith('.png')).length,
      captured.length,
    );
    assert.deepEqual(cleanups, ['ui-session']);
    // The session is closed: no adb forward left, the instrumentation stopped.
    const forwards = await world.adb.run(['forward', '--list']);
    assert.equal(forwards.stdout.trim(), '', `forwards left: ${forwards.stdout}`);
    // A second session on the same host server: a plan of its own, with steps that find nothing.
    const endpoint = await appium.endpoint();
    const again = await driveUi({
      device: running,
      adb: world.adb,
      appium,
      plan: parsePlan(
        {
          version: 1,
          name: 'after-setup',
          consents: [{ name: 'telemetry', toggle: { texts: ['Send telemetry'] } }],
          advance: { texts: ['Next'] },
          steps: [
            { do: 'finish-setup' },
            { do: 'consent', name: 'telemetry' },
            { do: 'open-apps', packages: ['com.android.browser'], seconds: 0 },
            { do: 'back' },
          ],
        },
        'after-setup',
      ),
      runDir: join(root, 'run-2'),
      packages: [],
      logger,
      announce: async () => undefined,
      onCleanup: () => undefined,
    });
    assert.equal(again.limitation, undefined, again.limitation);
    assert.deepEqual(
      again.report?.steps.map((s) => [s.step, s.action, s.outcome, s.note ?? '']),
      [
        ['finish-setup', 'observe', 'skipped', 'setup already finished'],
        ['consent', 'find', 'skipped', 'not on this screen'],
        ['open-apps', 'open-app', 'done', '0 s in the foreground'],
        ['open-apps', 'back', 'done', ''],
        ['back', 'back', 'done', ''],
      ],
    );
    assert.equal((await appium.endpoint()).port, endpoint.port, 'the host server was reused');

    // Appium dying mid-plan: a limitation with the steps so far, and the device left clean.
    const doomed = new AppiumServer({
      appiumHome: world.config.appiumHome,
      androidHome: world.config.appiumAndroidHome,
      adbServerPort: world.config.adbServerPort,
      logDir: join(root, 'logs'),
      logger,
    });
    bench.onStop(() => doomed.stop());
    let stopping: Promise<void> | undefined;
    const cut = await driveUi({
      device: running,
      adb: world.adb,
      appium: doomed,
      plan: parsePlan(
        {
          version: 1,
          name: 'cut-short',
          advance: { texts: ['Next'] },
          steps: [
            { do: 'wait', seconds: 0 },
            { do: 'wait', seconds: 1 },
            { do: 'wait', seconds: 0 },
          ],
        },
        'cut-short',
      ),
      runDir: join(root, 'run-3'),
      packages: [],
      logger,
      announce: async () => {
        stopping ??= doomed.stop();
        await stopping;
      },
      onCleanup: () => undefined,
    });
    assert.match(cut.limitation ?? '', /^UI driving failed after 1 step, so later setup screens/);
    assert.equal(cut.report?.steps.length, 1);
    const left = await world.adb.run(['forward', '--list']);
    assert.equal(left.stdout.trim(), '', `forwards left after Appium died: ${left.stdout}`);
    // The host's Appium stays up for the next job, and is gone once stopped.
    assert.equal((await findAppiumProcesses(endpoint.port)).length > 0, true);
    await appium.stop();
    assert.deepEqual(await findAppiumProcesses(endpoint.port), []);
  },
);
