import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { buildSystemImage, freeLoopbackPort, waitForLine } from '../support/lab-process.ts';

function buildImage(dir: string): Promise<string> {
  return readFile('images/lab/adups-2016.json').then((labImage) =>
    buildSystemImage(dir, {
      'build.prop': 'ro.build.display.id=LAB_PROCESS_TEST\n',
      'etc/canarytrap/lab-image.json': labImage,
    }),
  );
}

interface Phone {
  child: ResultPromise;
  ready: { serial: string; consolePort: number; adbPort: number; pid: number };
}

async function readyLine(child: ResultPromise, timeoutMs: number): Promise<Phone['ready']> {
  return JSON.parse(await waitForLine(child, /^\{/, timeoutMs)) as Phone['ready'];
}

async function setup(t: TestContext) {
  const dir = await mkdtemp(join(tmpdir(), 'lab-phone-process-'));
  const home = join(dir, 'home');
  const workDir = join(dir, 'work');
  await mkdir(home);
  const adbServerPort = await freeLoopbackPort();
  const env = { HOME: home, ANDROID_ADB_SERVER_PORT: String(adbServerPort) };
  const adb = (...args: string[]) =>
    execa('adb', ['-P', String(adbServerPort), ...args], { env, timeout: 20_000, reject: false });
  t.after(async () => {
    await adb('kill-server');
    await rm(dir, { recursive: true, force: true });
  });
  // The adb daemon forked by start-server keeps inherited pipes open: give it none.
  await execa('adb', ['-P', String(adbServerPort), 'start-server'], {
    env,
    timeout: 20_000,
    stdio: 'ignore',
  });
  return { dir, home, workDir, adbServerPort, env, adb };
}

function spawnPhone(env: Record<string, string>, args: string[]): ResultPromise {
  return execa(process.execPath, ['--import', 'tsx', 'src/lab/main.ts', ...args], {
    env,
    reject: false,
    timeout: 60_000,
  });
}

test('the lab phone process is driven by the real adb and cleans up on SIGTERM', async (t) => {
  const { dir, home, workDir, adbServerPort, env, adb } = await setup(t);
  const imageDir = await buildImage(dir);
  const consolePort = await freeLoopbackPort(true);
  const child = spawnPhone(env, [
    '--image-dir',
    imageDir,
    '--console-port',
    String(consolePort),
    '--adb-server-port',
    String(adbServerPort),
    '--http-proxy',
    '127.0.0.1:9',
    '--dns-server',
    '127.0.0.1:9',
    '--work-dir',
    workDir,
    '--auth-token-file',
    join(home, '.emulator_console_auth_token'),
  ]);
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const ready = await readyLine(child, 30_000);
  assert.deepEqual(ready, {
    ready: true,
    serial: `emulator-${consolePort}`,
    consolePort,
    adbPort: consolePort + 1,
    pid: child.pid,
  });
  const serial = ready.serial;

  const devices = await adb('devices');
  assert.match(devices.stdout, new RegExp(`^${serial}\\tdevice$`, 'm'));

  let booted = '';
  for (let i = 0; i < 50 && booted !== '1'; i++) {
    booted = (await adb('-s', serial, 'shell', 'getprop', 'sys.boot_completed')).stdout.trim();
    if (booted !== '1') await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(booted, '1');

  const emu = await adb('-s', serial, 'emu', 'sms', 'send', '5550100', 'hello');
  assert.equal(emu.exitCode, 0, emu.stderr);
  const inbox = await adb(
    '-s',
    serial,
    'shell',
    'content',
    'query',
    '--uri',
    'content://sms/inbox',
    '--projection',
    'address:body',
  );
  assert.equal(inbox.stdout, 'Row: 0 address=5550100, body=hello');
  const missing = await adb('-s', serial, 'shell', 'frobnicate');
  assert.equal(missing.exitCode, 127);

  assert.equal((await readdir(workDir)).length, 1, 'the phone keeps one temp dir while it runs');
  child.kill('SIGTERM');
  const result = await child;
  assert.equal(result.exitCode, 0, String(result.stderr));
  assert.deepEqual(await readdir(workDir), [], 'the temp dir is gone');
  assert.throws(() => process.kill(ready.pid, 0), { code: 'ESRCH' });
});

test('a bad image makes the process exit non-zero with one line naming the problem', async (t) => {
  const { dir, home, workDir, adbServerPort, env } = await setup(t);
  await mkdir(join(dir, 'noimage'));
  const consolePort = await freeLoopbackPort(true);
  const result = await spawnPhone(env, [
    '--image-dir',
    join(dir, 'noimage'),
    '--console-port',
    String(consolePort),
    '--adb-server-port',
    String(adbServerPort),
    '--http-proxy',
    '127.0.0.1:9',
    '--dns-server',
    '127.0.0.1:9',
    '--work-dir',
    workDir,
    '--auth-token-file',
    join(home, '.emulator_console_auth_token'),
  ]);
  assert.equal(result.exitCode, 1);
  const stderr = String(result.stderr).trim();
  assert.equal(stderr.split('\n').length, 1, stderr);
  assert.match(stderr, /^lab-image-invalid: .*no system\.img/);
  assert.deepEqual(await readdir(workDir), []);
});
