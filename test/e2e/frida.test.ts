import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildHooks } from '../../scripts/build-hooks.mjs';
import { loadConfig } from '../../src/config.ts';
import { AdbClient } from '../../src/device/adb-client.ts';
import { AdbDevice } from '../../src/device/adb-device.ts';
import { toRunningDevice } from '../../src/device/running-device.ts';
import { parseEventLines } from '../../src/instrument/device-events.ts';
import { loadFrida } from '../../src/instrument/frida-loader.ts';
import { startInstrumentation } from '../../src/instrument/session.ts';
import { silentLogger } from '../../src/log.ts';

/**
 * Frida on a real emulator: deploy, attach to system_server and com.android.phone, stop. Runs
 * only where frida-node, a frida-server directory and a booted SDK emulator are all present.
 */
test('frida instrumentation on a running SDK emulator', async (t) => {
  const frida = await loadFrida();
  if (!frida.ok) return t.skip(`frida is absent: ${frida.reason}`);
  const config = loadConfig();
  if (!config.fridaServerDir)
    return t.skip('no frida-server directory (CANARYTRAP_FRIDA_SERVER_DIR)');
  const adb = new AdbClient({ serverPort: config.adbServerPort });
  const serials = [...(await adb.devices().catch(() => new Map<string, string>()))]
    .filter(([serial, state]) => serial.startsWith('emulator-') && state === 'device')
    .map(([serial]) => serial);
  const consolePort = Number(serials[0]?.slice('emulator-'.length));
  if (!Number.isInteger(consolePort)) return t.skip('no booted emulator on the adb server');
  const adbDevice = new AdbDevice({
    adb,
    consolePort,
    consoleAuthTokenPath: config.consoleAuthTokenPath,
  });
  // The lab phone also registers as emulator-<port>, but it cannot run frida-server: no nohup.
  if ((await adbDevice.shell('which nohup', { allowFailure: true })).exitCode !== 0)
    return t.skip(`${adbDevice.serial} is not an SDK emulator (its shell has no nohup)`);

  const dir = await mkdtemp(join(tmpdir(), 'canarytrap-frida-e2e-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bundles = await buildHooks(join(dir, 'hooks'));
  const eventsPath = join(dir, 'events.jsonl');
  const device = toRunningDevice(adbDevice, 'sdk-emulator', async () => undefined);
  const started = await startInstrumentation({
    device,
    logger: silentLogger(),
    fridaServerDir: config.fridaServerDir,
    eventsPath,
    packages: [],
    ...(bundles['all'] ? { agentPath: bundles['all'] } : {}),
  });
  assert.equal(started.unavailable, undefined, started.unavailable);
  assert.ok(started.session);
  assert.match(started.summary, /system_server/);
  assert.match(started.summary, /com\.android\.phone/);
  await adbDevice.shell('getprop ro.serialno');
  await started.session.stop();
  const text = await readFile(eventsPath, 'utf8').catch(() => '');
  assert.deepEqual(parseEventLines(text).bad, [], 'every written event is valid');
});
