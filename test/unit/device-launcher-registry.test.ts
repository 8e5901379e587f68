import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LAUNCHER_NAMES, loadConfig, type LauncherName } from '../../src/config.ts';
import { AdbClient } from '../../src/device/adb-client.ts';
import { AdbDevice } from '../../src/device/adb-device.ts';
import type { Launcher, LaunchRequest, RunningDevice } from '../../src/device/device.ts';
import {
  chooseLauncher,
  LAUNCHERS,
  type LauncherEntry,
  type LauncherRegistry,
} from '../../src/device/launchers.ts';
import { isCanarytrapError } from '../../src/errors.ts';
import { startInstrumentation } from '../../src/instrument/session.ts';
import { silentLogger } from '../../src/log.ts';
import { toRunningDevice } from '../../src/device/running-device.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const logger = silentLogger();
const config = loadConfig({ HOME: '/nonexistent-home' });
const adb = new AdbClient({ serverPort: 1 });
const labImage = { metadata: { labImage: true } };
const stockImage = { metadata: { labImage: false } };
const job = (launcher?: string) => ({ config, adb, data: { options: { launcher } } });

/**
 * What a new launcher's folder holds: a Launcher whose devices say what they offer. A real one
 * also adds its name to LAUNCHER_NAMES in src/config.ts, which is what the cast stands for.
 */
class TestPhoneLauncher implements Launcher {
  readonly name = 'test-phone' as LauncherName;
  readonly launched: LaunchRequest[] = [];
  stopped = 0;

  async unavailableReason(): Promise<string | undefined> {
    return undefined;
  }

  async launch(request: LaunchRequest): Promise<RunningDevice> {
    this.launched.push(request);
    const device = new AdbDevice({ adb, consolePort: 5990, consoleAuthTokenPath: '/dev/null' });
    return toRunningDevice(
      device,
      this.name,
      async () => {
        this.stopped++;
      },
      {
        fridaUnavailable: 'the test phone runs no frida-server',
        ownEvents: { note: 'the test phone wrote its own events', summary: 'test phone events' },
      },
    );
  }
}

/** Its one registry entry, registered ahead of the production ones so it claims lab images. */
function registryWithTestPhone(launcher: TestPhoneLauncher): LauncherRegistry {
  const entry: LauncherEntry = {
    runMode: 'test-phone',
    dnsOnPort53: false,
    claims: (image) => image.metadata.labImage === true,
    refuses: () => undefined,
    create: () => launcher,
  };
  return { 'test-phone': entry, ...LAUNCHERS };
}

test('a launcher added as one registry entry is chosen by name and by claim', () => {
  const testPhone = new TestPhoneLauncher();
  const registry = registryWithTestPhone(testPhone);
  assert.equal(chooseLauncher(stockImage, job('test-phone'), registry).launcher, testPhone);
  assert.equal(chooseLauncher(labImage, job(), registry).launcher, testPhone);
  assert.equal(chooseLauncher(stockImage, job(), registry).launcher.name, 'sdk-emulator');
  assert.equal(chooseLauncher(labImage, job('lab-phone'), registry).launcher.name, 'lab-phone');
});

test('the production registry: one entry per name in LAUNCHER_NAMES, choices as before', () => {
  assert.deepEqual(Object.keys(LAUNCHERS), [...LAUNCHER_NAMES]);
  assert.equal(chooseLauncher(labImage, job()).launcher.name, 'lab-phone');
  assert.equal(chooseLauncher(stockImage, job()).launcher.name, 'sdk-emulator');
  assert.equal(chooseLauncher(labImage, job('sdk-emulator')).launcher.name, 'sdk-emulator');
  assert.equal(chooseLauncher(stockImage, job()).entry.dnsOnPort53, true);
  assert.throws(
    () => chooseLauncher(stockImage, job('lab-phone')),
    (error) => isCanarytrapError(error) && error.code === 'image-not-lab' && error.permanent,
  );
  assert.throws(
    () => chooseLauncher(stockImage, job('cuttlefish')),
    (error) => isCanarytrapError(error) && error.code === 'launcher-unknown',
  );
});

test('after boot, instrumentation reads what the device reports, not which launcher it was', async () => {
  const testPhone = new TestPhoneLauncher();
  const { launcher } = chooseLauncher(labImage, job(), registryWithTestPhone(testPhone));
  const device = await launcher.launch({
    imageDir: '/nonexistent-image',
    runDir: '/nonexistent-run',
    network: { dnsServer: { host: '127.0.0.1', port: 1 } },
    logger,
  });
  assert.equal(testPhone.launched.length, 1);
  // Any module that loads stands in for frida-node: the device's own report stops it first.
  const started = await startInstrumentation({ device, logger, fridaModule: 'node:os' });
  assert.equal(started.session, undefined);
  assert.equal(
    started.unavailable,
    'Frida instrumentation unavailable: the test phone runs no frida-server; the test phone wrote its own events',
  );
  assert.equal(started.summary, 'test phone events');
  await device.stop();
  await device[Symbol.asyncDispose]();
  assert.equal(testPhone.stopped, 1);
});

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

test('outside its folder, config.ts and the registry, only these files name a launcher', async () => {
  const files = [...(await sourceFiles('src')), ...(await sourceFiles('jobs'))];
  const naming: string[] = [];
  for (const file of files) {
    // The lab phone's own process calls itself by name; it is not a launcher.
    if (file.startsWith('src/lab/')) continue;
    const text = await readFile(join(ROOT, file), 'utf8');
    if (LAUNCHER_NAMES.some((name) => text.includes(`'${name}'`))) naming.push(file);
  }
  const own = (file: string) =>
    file === 'src/config.ts' ||
    file === 'src/device/launchers.ts' ||
    LAUNCHER_NAMES.some((name) => file.startsWith(`src/device/${name}/`));
  // Named on purpose, and none needs a new launcher: the run plan's mode for a lab image, the
  // launcher of a transplant base kind, the report's launcher for a run that never booted, and
  // the capability every worker advertises (the lab phone's, a queue lane's need).
  assert.deepEqual(naming.filter((file) => !own(file)).sort(), [
    'jobs/stages/report.ts',
    'src/intake/run-plan.ts',
    'src/intake/transplant/plan.ts',
    'src/queue/lanes.ts',
  ]);
});
