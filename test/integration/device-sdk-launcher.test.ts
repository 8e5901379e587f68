import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdbClient } from '../../src/device/adb-client.ts';
import { defaultLockDir } from '../../src/host/port-lease.ts';
import { processAlive } from '../../src/host/processes.ts';
import { emulatorArgs } from '../../src/device/sdk-emulator/command-line.ts';
import { SdkEmulatorLauncher } from '../../src/device/sdk-emulator/launcher.ts';
import { isCanarytrapError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { canBind } from '../support/leftovers.ts';
import { cageUnavailable, makeTestCage, netnsInode } from '../support/test-cage.ts';
import { freePort } from '../../src/host/ports.ts';
import {
  makeFakeSdk,
  makeLabSystemImage,
  makeRecordingAdb,
  readEmulatorRecord,
} from '../support/device-sdk-fake-emulator.ts';

const KVM_HOST = { arch: 'x64', kvmAccessible: async () => true };

/** Asserts that `expected` appear in `lines` in this order (other lines may come between). */
function assertInOrder(lines: readonly string[], expected: readonly string[]): void {
  let from = 0;
  for (const line of expected) {
    const at = lines.indexOf(line, from);
    assert.ok(at >= 0, `"${line}" not found after position ${from} in:\n${lines.join('\n')}`);
    from = at + 1;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

async function setup(t: TestContext, behaviour: 'lab-phone' | 'fail') {
  const root = await mkdtemp(join(tmpdir(), 'device-sdk-launcher-'));
  const home = join(root, 'home');
  const runDir = join(root, 'run');
  await mkdir(home);
  await mkdir(runDir);
  const authTokenFile = join(home, '.emulator_console_auth_token');
  const sdk = await makeFakeSdk(root, { behaviour, authTokenFile });
  const adb = new AdbClient({
    adbPath: await makeRecordingAdb(sdk.recordDir),
    serverPort: await freePort(),
  });
  const imageDir = await makeLabSystemImage(root);
  const launcher = new SdkEmulatorLauncher({
    adb,
    androidHome: sdk.androidHome,
    consoleAuthTokenPath: authTokenFile,
    host: KVM_HOST,
    stopGraceMs: 3_000,
  });
  t.after(async () => {
    await adb.killServer();
    await rm(root, { recursive: true, force: true });
  });
  const network = {
    dnsServer: { host: '127.0.0.1', port: 53 },
    httpProxy: { host: '127.0.0.1', port: await freePort() },
  };
  return { root, runDir, imageDir, launcher, adb, sdk, network };
}

test('the SDK emulator launcher boots a temporary AVD with the exact command line, then tears all of it down', async (t) => {
  const s = await setup(t, 'lab-phone');
  assert.equal(await s.launcher.unavailableReason(s.imageDir), undefined);
  const device = await s.launcher.launch({
    imageDir: s.imageDir,
    runDir: s.runDir,
    network: s.network,
    phoneNumber: '15555550123',
    bootTimeoutMs: 30_000,
    logger: silentLogger(),
  });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await device.stop();
  });
  const record = await readEmulatorRecord(s.sdk.recordDir);
  const avdName = record.argv[1] ?? '';
  assert.match(avdName, new RegExp(`^canarytrap_${device.consolePort}_[0-9a-f]{8}$`));
  // The launcher ran exactly the command line emulatorArgs builds (whose literal form the unit
  // tests pin), with the lease, the run network and the pcap in the run directory.
  assert.deepEqual(
    record.argv,
    emulatorArgs({
      avdName,
      imageDir: s.imageDir,
      consolePort: device.consolePort,
      adbPort: device.adbPort,
      network: { mode: 'proxy', dnsServer: s.network.dnsServer, httpProxy: s.network.httpProxy },
      writableSystem: false,
      pcapPath: join(s.runDir, 'emulator.pcap'),
      phoneNumber: '15555550123',
      acceleration: 'auto',
    }),
  );
  assert.equal(
    record.argv[record.argv.indexOf('-ports') + 1],
    `${device.consolePort},${device.adbPort}`,
  );
  const avdHome = record.env['ANDROID_AVD_HOME'] ?? '';
  assert.deepEqual(record.env, {
    ANDROID_HOME: s.sdk.androidHome,
    ANDROID_SDK_ROOT: s.sdk.androidHome,
    ANDROID_AVD_HOME: avdHome,
    ANDROID_ADB_SERVER_PORT: String(s.adb.serverPort),
  });
  assert.equal(
    record.pointerIni,
    `avd.ini.encoding=UTF-8\npath=${join(avdHome, `${avdName}.avd`)}\ntarget=android-30\n`,
  );
  assert.match(record.configIni, new RegExp(`^image\\.sysdir\\.1=${s.imageDir}/$`, 'm'));
  assert.match(record.configIni, /^abi\.type=x86_64$/m);
  assert.ok(await exists(avdHome), 'the temporary AVD exists while the device runs');

  // After boot the device is driven through real adb and the console, as any emulator.
  assert.equal(device.launcher, 'sdk-emulator');
  assert.equal(device.serial, `emulator-${device.consolePort}`);
  assert.equal((await s.adb.devices()).get(device.serial), 'device');
  assert.equal((await device.console('avd name')).trim(), avdName);
  assert.equal(
    (await device.shell('getprop ro.build.display.id')).stdout.trim(),
    'SDK_LAUNCHER_TEST',
  );

  // Boot readiness was polled through real adb, signal by signal, after starting the server.
  const serial = device.serial;
  assertInOrder(record.adb, [
    'start-server',
    'devices',
    `-s ${serial} shell getprop sys.boot_completed`,
    `-s ${serial} shell getprop init.svc.bootanim`,
    `-s ${serial} shell service check activity`,
    `-s ${serial} shell service check package`,
    `-s ${serial} shell service check window`,
  ]);

  await device.stop();
  await device.stop(); // idempotent
  stopped = true;
  const ended = await readEmulatorRecord(s.sdk.recordDir);
  assert.equal(
    ended.ended,
    'exit 0\n',
    'console `kill` stopped the emulator; no signal was needed',
  );
  assert.equal(processAlive(record.pid), false, 'the emulator process is gone');
  assert.equal(await exists(avdHome), false, 'the temporary AVD home is removed');
  assert.equal(
    await exists(join(defaultLockDir(), `${device.consolePort}.lock`)),
    false,
    'the port lease is released',
  );
  const log = await readFile(join(s.runDir, 'emulator.log'), 'utf8');
  const ready = /\{"ready":true.*\}/.exec(log);
  assert.ok(ready, `the emulator output went to emulator.log: ${log}`);
  const phonePid = (JSON.parse(ready[0]) as { pid: number }).pid;
  assert.equal(processAlive(phonePid), false, 'the lab phone behind the fake emulator is gone');
});

test('an emulator that exits during boot fails the launch with its own words and leaves nothing behind', async (t) => {
  const s = await setup(t, 'fail');
  const error: unknown = await s.launcher
    .launch({
      imageDir: s.imageDir,
      runDir: s.runDir,
      network: s.network,
      bootTimeoutMs: 20_000,
      logger: silentLogger(),
    })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(isCanarytrapError(error), String(error));
  assert.equal(error.code, 'device-exited');
  assert.match(error.message, /requires hardware acceleration/);
  const record = await readEmulatorRecord(s.sdk.recordDir);
  const avdHome = record.env['ANDROID_AVD_HOME'] ?? '';
  assert.equal(await exists(avdHome), false, 'the temporary AVD home is removed');
  const consolePort = Number((record.argv[record.argv.indexOf('-ports') + 1] ?? '').split(',')[0]);
  assert.equal(await exists(join(defaultLockDir(), `${consolePort}.lock`)), false);
});

test('a sinkhole that is not on port 53 stops the launch with a message that says so', async (t) => {
  const s = await setup(t, 'lab-phone');
  await assert.rejects(
    s.launcher.launch({
      imageDir: s.imageDir,
      runDir: s.runDir,
      network: { ...s.network, dnsServer: { host: '127.0.0.1', port: 5353 } },
      logger: silentLogger(),
    }),
    (error: unknown) =>
      isCanarytrapError(error) &&
      error.code === 'emulator-dns-port' &&
      /sends DNS only to port 53/.test(error.message),
  );
  assert.equal(await exists(join(s.sdk.recordDir, 'argv')), false, 'the emulator never started');
});

test('in a cage the emulator runs inside the namespace, with the gateway for DNS and no proxy, and adb reaches it through the relays', async (t) => {
  const unavailable = await cageUnavailable();
  if (unavailable) return t.skip(unavailable);
  const s = await setup(t, 'lab-phone');
  const cage = await makeTestCage(t);
  const device = await s.launcher.launch({
    imageDir: s.imageDir,
    runDir: s.runDir,
    network: { dnsServer: { host: '127.0.0.1', port: 53 } },
    cage,
    bootTimeoutMs: 30_000,
    logger: silentLogger(),
  });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await device.stop();
  });
  const record = await readEmulatorRecord(s.sdk.recordDir);
  assert.equal(
    record.netnsInode,
    await netnsInode(cage.addressing.netns),
    'the emulator ran in the cage',
  );
  assert.notEqual(record.netnsInode, await ownNetnsInode(), 'not in the host namespace');
  const avdName = record.argv[1] ?? '';
  assert.deepEqual(
    record.argv,
    emulatorArgs({
      avdName,
      imageDir: s.imageDir,
      consolePort: device.consolePort,
      adbPort: device.adbPort,
      network: { mode: 'caged', dnsServer: { host: cage.addressing.gateway, port: 53 } },
      writableSystem: false,
      pcapPath: join(s.runDir, 'emulator.pcap'),
      acceleration: 'auto',
    }),
  );
  assert.equal(record.argv[record.argv.indexOf('-dns-server') + 1], cage.addressing.gateway);
  assert.equal(record.argv.includes('-http-proxy'), false);

  // The host's adb server lists it (announced from the host side) and drives it.
  assert.equal((await s.adb.devices()).get(device.serial), 'device');
  assert.equal((await device.console('avd name')).trim(), avdName);
  assert.equal(
    (await device.shell('getprop ro.build.display.id')).stdout.trim(),
    'SDK_LAUNCHER_TEST',
  );
  await device.stop();
  stopped = true;
  assert.equal((await readEmulatorRecord(s.sdk.recordDir)).ended, 'exit 0\n');
  assert.equal(await canBind(device.consolePort), true, 'the console relay is closed');
  assert.equal(await canBind(device.adbPort), true, 'the adb relay is closed');
});

async function ownNetnsInode(): Promise<number> {
  return (await stat('/proc/self/ns/net')).ino;
}
