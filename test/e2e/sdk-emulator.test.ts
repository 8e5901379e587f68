import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCapture } from '../../src/capture/index.ts';
import { loadConfig } from '../../src/config.ts';
import { AdbClient } from '../../src/device/adb-client.ts';
import { listSystemImages } from '../../src/doctor/android-checks.ts';
import { defaultLockDir } from '../../src/host/port-lease.ts';
import { emulatorBinaryPath, isExecutable } from '../../src/android/sdk-host.ts';
import { SdkEmulatorLauncher } from '../../src/device/sdk-emulator/launcher.ts';
import { silentLogger } from '../../src/log.ts';
import { freePort } from '../../src/host/ports.ts';

/**
 * The emulator sends DNS to port 53 only, and the run's sinkhole listens on a random port: on
 * a loopback alias of its own, relay port 53 to the sinkhole, as a worker host would map it.
 */
async function relayDnsPort53(t: TestContext, to: { host: string; port: number }) {
  const host = `127.${randomInt(64, 250)}.${randomInt(1, 250)}.${randomInt(1, 250)}`;
  const front = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.bind(53, host, () => resolve());
  });
  const upstreams: Socket[] = [];
  front.on('message', (query, client) => {
    const upstream = createSocket('udp4');
    upstreams.push(upstream);
    upstream.on('message', (answer) => {
      front.send(answer, client.port, client.address);
      upstream.close();
    });
    upstream.send(query, to.port, to.host);
  });
  t.after(() => {
    for (const socket of upstreams) socket.close();
    front.close();
  });
  return { host, port: 53 };
}

test('an SDK system image boots headless on the real emulator, is driven through adb and torn down', async (t) => {
  const config = loadConfig();
  const androidHome = config.androidHome;
  if (!androidHome) return t.skip('ANDROID_HOME is not set: no Android SDK emulator to test');
  if (!(await isExecutable(emulatorBinaryPath(androidHome)))) {
    return t.skip(`${emulatorBinaryPath(androidHome)} is missing: no emulator to test`);
  }
  const images = await listSystemImages(androidHome);
  if (images.length === 0) {
    return t.skip(`no system image under ${join(androidHome, 'system-images')}`);
  }
  const adb = new AdbClient({ adbPath: config.adbPath, serverPort: await freePort() });
  const launcher = new SdkEmulatorLauncher({
    adb,
    androidHome,
    consoleAuthTokenPath: config.consoleAuthTokenPath,
  });
  const reasons: string[] = [];
  let chosen: (typeof images)[number] | undefined;
  for (const image of images) {
    const reason = await launcher.unavailableReason(join(androidHome, image.id));
    if (reason) reasons.push(reason);
    else chosen ??= image;
  }
  if (!chosen) return t.skip(`no installed system image runs here: ${reasons.join('; ')}`);

  const runDir = await mkdtemp(join(tmpdir(), 'sdk-emulator-e2e-'));
  t.after(async () => {
    await adb.killServer();
    await rm(runDir, { recursive: true, force: true });
  });
  const capture = await startCapture({ runDir, logger: silentLogger() });
  t.after(() => capture.stop());
  let dnsServer: { host: string; port: number };
  try {
    dnsServer = await relayDnsPort53(t, capture.dns);
  } catch (error) {
    return t.skip(
      `cannot listen on UDP port 53 of a loopback alias (${(error as Error).message}); the emulator sends DNS to port 53 only`,
    );
  }
  const device = await launcher.launch({
    imageDir: join(androidHome, chosen.id),
    runDir,
    network: { dnsServer, httpProxy: capture.proxy },
    phoneNumber: '15555550199',
    bootTimeoutMs: 300_000,
    logger: silentLogger(),
  });
  try {
    assert.equal(device.launcher, 'sdk-emulator');
    assert.equal((await adb.devices()).get(device.serial), 'device');
    assert.equal(await device.abi(), chosen.info.abi);
    assert.equal(await device.apiLevel(), chosen.info.apiLevel);
    assert.match(await device.console('avd name'), /^canarytrap_\d+_[0-9a-f]{8}/);
  } finally {
    await device.stop();
  }
  assert.equal(
    await stat(join(defaultLockDir(), `${device.consolePort}.lock`)).catch(() => undefined),
    undefined,
  );
  assert.ok((await stat(join(runDir, 'emulator.log'))).size > 0, 'the emulator log was written');
});
