import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { canOpenKvm, KVM_DEVICE } from '../../src/android/sdk-host.ts';
import { checkCageCapability } from '../../src/capture/cage/index.ts';
import { freePort } from '../../src/host/ports.ts';

async function doctor(t: TestContext, env: Record<string, string>) {
  const home = await mkdtemp(join(tmpdir(), 'device-doctor-home-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  const result = await execa(process.execPath, ['bin/canarytrap.js', 'doctor'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: home, CANARYTRAP_LOG_LEVEL: 'silent', ...env },
    extendEnv: false,
    reject: false,
    timeout: 30_000,
  });
  const lines = result.stdout.split('\n');
  const line = (name: string) =>
    lines.find((l) => / [^:]+:/.test(l) && l.slice(2).startsWith(`${name}:`));
  return { result, lines, line };
}

test('doctor without an Android SDK exits 5 and says, per missing piece, what it is and how to get it', async (t) => {
  const { result, lines, line } = await doctor(t, {});
  assert.equal(result.exitCode, 5, result.stderr);
  assert.equal(line('Android SDK'), '✗ Android SDK: ANDROID_HOME is not set');
  assert.equal(line('emulator'), '✗ emulator: no Android SDK to look in');
  assert.equal(line('system images'), '✗ system images: no Android SDK to look in');
  assert.equal(line('frida-server'), '✗ frida-server: CANARYTRAP_FRIDA_SERVER_DIR is not set');
  assert.match(line('adb') ?? '', /^✓ adb: Android Debug Bridge version \d/);
  assert.match(line('Redis') ?? '', /^✓ Redis: no URL configured; redis-server [\d.]+ on PATH/);
  assert.match(line('intake tools') ?? '', /^✓ intake tools: mke2fs, (.+, )?debugfs, /);
  assert.match(line('Appium') ?? '', /^✓ Appium: UiAutomator2 driver in \/.+\.appium$/);
  // Every ✗ line is followed by what the piece is and how to get it.
  lines.forEach((text, index) => {
    if (!text.startsWith('✗')) return;
    assert.match(lines[index + 1] ?? '', /^ {4}what: /, text);
    assert.match(lines[index + 2] ?? '', /^ {4}get it: /, text);
  });
  const sdkIndex = lines.indexOf('✗ Android SDK: ANDROID_HOME is not set');
  assert.match(lines[sdkIndex + 2] ?? '', /sdkmanager --install emulator/);
  // KVM is this host's own: the same expectations hold with and without /dev/kvm.
  const kvmMissing = process.arch === 'x64' && !(await canOpenKvm(KVM_DEVICE));
  if (kvmMissing) assert.equal(line('KVM'), `✗ KVM: ${KVM_DEVICE} is not accessible`);
  else assert.match(line('KVM') ?? '', /^✓ KVM: /);
  // So is the network cage (root, ip, nft, a namespace the kernel grants).
  const cage = await checkCageCapability();
  assert.equal(
    line('network cage'),
    cage.ok
      ? '✓ network cage: namespaces, veth and nftables work here'
      : `✗ network cage: ${cage.reason}`,
  );
  assert.match(
    result.stdout,
    new RegExp(
      `missing: Android SDK, emulator, ${kvmMissing ? 'KVM, ' : ''}system images, frida-server`,
    ),
  );
});

test('doctor finds the emulator, lists system images, frida-server per ABI, and reports a dead Redis', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'device-doctor-sdk-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const sdk = join(root, 'sdk');
  await mkdir(join(sdk, 'emulator'), { recursive: true });
  await writeFile(
    join(sdk, 'emulator', 'emulator'),
    '#!/bin/sh\necho "INFO    | Android emulator version 35.1.4.0 (build_id 12345)"\n',
  );
  await chmod(join(sdk, 'emulator', 'emulator'), 0o755);
  const image = join(sdk, 'system-images', 'android-30', 'default', 'x86_64');
  await mkdir(image, { recursive: true });
  for (const file of ['system.img', 'vendor.img', 'ramdisk.img', 'kernel-ranchu', 'build.prop']) {
    await writeFile(join(image, file), '');
  }
  await writeFile(
    join(image, 'source.properties'),
    'AndroidVersion.ApiLevel=30\nSystemImage.Abi=x86_64\n',
  );
  // An image directory lacking its kernel is not listed.
  await mkdir(join(sdk, 'system-images', 'android-31', 'default', 'x86_64'), { recursive: true });
  const frida = join(root, 'frida');
  await mkdir(frida);
  await writeFile(join(frida, 'frida-server-x86_64'), '');
  const deadRedis = `redis://127.0.0.1:${await freePort()}`;

  const { result, line } = await doctor(t, {
    ANDROID_HOME: sdk,
    CANARYTRAP_FRIDA_SERVER_DIR: frida,
    CANARYTRAP_REDIS_URL: deadRedis,
  });
  assert.equal(result.exitCode, 5, result.stderr);
  assert.equal(line('Android SDK'), `✓ Android SDK: ${sdk}`);
  assert.equal(
    line('emulator'),
    `✓ emulator: INFO    | Android emulator version 35.1.4.0 (build_id 12345) (${join(sdk, 'emulator', 'emulator')})`,
  );
  assert.equal(
    line('system images'),
    '✓ system images: system-images/android-30/default/x86_64 (API 30, x86_64)',
  );
  assert.equal(line('frida-server'), `✓ frida-server: frida-server-x86_64 in ${frida}`);
  assert.match(line('Redis') ?? '', new RegExp(`^✗ Redis: ${deadRedis} does not answer: `));
});

test('doctor names a missing UiAutomator2 driver and how to install it', async (t) => {
  const emptyHome = await mkdtemp(join(tmpdir(), 'device-doctor-appium-'));
  t.after(() => rm(emptyHome, { recursive: true, force: true }));
  const { lines, line } = await doctor(t, { CANARYTRAP_APPIUM_HOME: emptyHome });
  assert.equal(
    line('Appium'),
    `✗ Appium: the Appium home ${emptyHome} holds no UiAutomator2 driver`,
  );
  const at = lines.indexOf(line('Appium') ?? '');
  assert.match(lines[at + 2] ?? '', /get it: .*scripts\/setup\.sh/);
});
