import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveImageArgument } from '../../src/cli/image-argument.ts';
import type { Device, RunningDevice } from '../../src/device/device.ts';
import { LabPhoneLauncher } from '../../src/device/lab-phone/launcher.ts';
import { isCanarytrapError } from '../../src/errors.ts';
import { planAttachTargets } from '../../src/instrument/attach-plan.ts';
import { deployFridaServer } from '../../src/instrument/frida-server.ts';
import { startInstrumentation } from '../../src/instrument/session.ts';
import { ImageStore, intakeImage } from '../../src/intake/index.ts';
import { silentLogger } from '../../src/log.ts';
import { freePort } from '../../src/host/ports.ts';
import { startPipelineEnv } from '../support/pipeline-env.ts';

const logger = silentLogger();

/** Passes every call to the real device (through real adb) and records it. */
function recording(device: Device, calls: string[]): Device {
  return {
    serial: device.serial,
    consolePort: device.consolePort,
    adbPort: device.adbPort,
    shell: (command, options) => (calls.push(`shell ${command}`), device.shell(command, options)),
    push: (local, remote) => (calls.push(`push ${local} ${remote}`), device.push(local, remote)),
    pull: (remote, local) => (calls.push(`pull ${remote}`), device.pull(remote, local)),
    install: (apk) => (calls.push(`install ${apk}`), device.install(apk)),
    console: (command) => (calls.push(`console ${command}`), device.console(command)),
    abi: () => (calls.push('abi'), device.abi()),
    apiLevel: () => (calls.push('apiLevel'), device.apiLevel()),
    root: () => (calls.push('root'), device.root()),
    forward: (remote, local) => (calls.push(`forward ${remote}`), device.forward(remote, local)),
  };
}

test('frida-server deploy on the lab phone: push, chmod, start as root, forward, then a timeout naming frida-server', async (t) => {
  const world = await startPipelineEnv();
  const root = await mkdtemp(join(tmpdir(), 'instrument-frida-server-'));
  const running: RunningDevice[] = [];
  t.after(async () => {
    await Promise.all(running.map((d) => d.stop()));
    await world.close();
    await rm(root, { recursive: true, force: true });
  });
  const resolved = await resolveImageArgument('adups-2016', world.config);
  const image = await intakeImage(resolved.path, new ImageStore(world.config.dataRoot), { logger });
  const launcher = new LabPhoneLauncher({
    adb: world.adb,
    consoleAuthTokenPath: world.config.consoleAuthTokenPath,
    leases: { lockDir: join(root, 'leases') },
  });
  // Nothing listens on these: the phone's traffic has nowhere to go, which this test does not need.
  const unused = { host: '127.0.0.1', port: await freePort() };
  const device = await launcher.launch({
    imageDir: image.dir,
    runDir: root,
    network: { dnsServer: unused, httpProxy: unused },
    logger,
  });
  running.push(device);

  const abi = await device.abi();
  const serverDir = join(root, 'frida');
  const binary = join(serverDir, `frida-server-${abi}`);
  await mkdir(serverDir);
  await writeFile(binary, '#!/system/bin/sh\necho stand-in for frida-server\n', { mode: 0o755 });

  const calls: string[] = [];
  const phone = recording(device, calls);
  const seenOnDevice: string[] = [];
  const started = Date.now();
  const failure = await deployFridaServer(phone, {
    fridaServerDir: serverDir,
    logger,
    startTimeoutMs: 1_500,
    // While the server is being waited for, the binary must be on the device, executable.
    probe: async () => {
      const remote = /^push \S+ (\S+)$/.exec(calls.find((c) => c.startsWith('push ')) ?? '')?.[1];
      if (remote && seenOnDevice.length === 0)
        seenOnDevice.push((await device.shell(`ls -l ${remote}`)).stdout.trim());
      return false;
    },
  }).then(
    () => assert.fail('a stand-in binary cannot answer as frida-server'),
    (error: unknown) => error,
  );
  const elapsed = Date.now() - started;

  assert.ok(isCanarytrapError(failure), String(failure));
  assert.equal(failure.code, 'frida-server-timeout');
  assert.match(failure.message, /frida-server did not answer on 127\.0\.0\.1:\d+ within 1500 ms/);
  assert.ok(elapsed >= 1_500 && elapsed < 10_000, `waited ${elapsed} ms`);

  const push = calls.find((c) => c.startsWith('push '));
  const remote = /^push (\S+) (\/data\/local\/tmp\/\.[0-9a-f]{12})$/.exec(push ?? '');
  assert.ok(remote, `push under a random name: ${push}`);
  assert.equal(remote[1], binary);
  const start = calls.find((c) => c.includes('nohup')) ?? '';
  const port = /-l 127\.0\.0\.1:(\d+) /.exec(start)?.[1];
  assert.ok(port, start);
  assert.deepEqual(calls, [
    'abi',
    'root',
    `push ${binary} ${remote[2]}`,
    `shell chmod 755 ${remote[2]}`,
    `shell nohup ${remote[2]} -l 127.0.0.1:${port} >/dev/null 2>&1 & echo $!`,
    `forward ${port}`,
    `shell rm -f ${remote[2]}`,
  ]);
  assert.match(seenOnDevice[0] ?? '', /^-rwxr-xr-x/, `pushed and chmod'ed: ${seenOnDevice[0]}`);
  const after = await device.shell(`ls ${remote[2]}`, { allowFailure: true });
  assert.notEqual(after.exitCode, 0, 'the binary is removed after the failed start');

  // The default probe over the real adb forward: adb accepts, nothing on the device answers.
  const defaultProbe = await deployFridaServer(device, {
    fridaServerDir: serverDir,
    logger,
    startTimeoutMs: 1_000,
  }).then(
    () => assert.fail('a stand-in binary cannot answer as frida-server'),
    (error: unknown) => error,
  );
  assert.ok(isCanarytrapError(defaultProbe));
  assert.equal(defaultProbe.code, 'frida-server-timeout');
  // The lab shell cannot run the start line; what it printed is in the error, to say why.
  assert.match(defaultProbe.message, /; its start command printed: \S/);

  const missing = await deployFridaServer(device, {
    fridaServerDir: join(root, 'nowhere'),
    logger,
  }).then(
    () => assert.fail('no binary, no deploy'),
    (error: unknown) => error,
  );
  assert.ok(isCanarytrapError(missing));
  assert.equal(missing.code, 'frida-server-missing');
  assert.match(missing.message, new RegExp(`frida-server-${abi}`));

  // Where frida is absent (here), the run says so and goes on: no session, a reason. The device
  // reports what an SDK emulator does: frida-server could run, it writes no events itself.
  const emulatorLike: RunningDevice = {
    ...recording(device, []),
    launcher: 'sdk-emulator',
    instrumentation: {},
    stop: () => device.stop(),
    [Symbol.asyncDispose]: () => device.stop(),
  };
  const start2 = await startInstrumentation({
    device: emulatorLike,
    logger,
    fridaServerDir: serverDir,
    fridaModule: 'frida-module-that-is-not-installed',
  });
  assert.equal(start2.session, undefined);
  assert.match(
    start2.unavailable ?? '',
    /Frida instrumentation unavailable: the frida module is not installed/,
  );
  assert.equal(start2.summary, 'none (capture only)');

  // The attach list for this image: the phone's own processes, then its suspect apps.
  const targets = planAttachTargets(image.inventory.apps);
  assert.deepEqual(targets.slice(0, 2), ['system_server', 'com.android.phone']);
  const suspects = image.inventory.apps.filter((a) =>
    a.permissions.some((p) => p.protection !== 'normal'),
  );
  assert.ok(suspects.length > 0, 'the lab image has apps with dangerous or privileged permissions');
  assert.deepEqual(new Set(targets.slice(2)), new Set(suspects.map((a) => a.package)));
});
