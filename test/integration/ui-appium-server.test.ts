import assert from 'node:assert/strict';
import { execa } from 'execa';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.ts';
import { isCanarytrapError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { AppiumServer } from '../../src/ui/index.ts';
import { eventually, findAppiumProcesses } from '../support/leftovers.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const OWNER = fileURLToPath(new URL('../fixtures/ui/appium-owner.ts', import.meta.url));
const config = loadConfig({}, REPO);

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ui-appium-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function server(appiumHome: string, logDir: string, appiumEntry?: string): AppiumServer {
  return new AppiumServer({
    appiumHome,
    androidHome: config.appiumAndroidHome,
    adbServerPort: 5037,
    logDir,
    logger: silentLogger(),
    startTimeoutMs: 20_000,
    ...(appiumEntry ? { appiumEntry } : {}),
  });
}

async function errorOf(
  work: Promise<unknown>,
): Promise<{ code: string; message: string; hint?: string }> {
  try {
    await work;
  } catch (error) {
    assert.ok(isCanarytrapError(error), String(error));
    return {
      code: error.code,
      message: error.message,
      ...(error.hint ? { hint: error.hint } : {}),
    };
  }
  assert.fail('expected an error');
}

void test('an Appium home without the UiAutomator2 driver is appium-missing, naming the set-up', async (t) => {
  const dir = await tempDir(t);
  const appium = server(join(dir, 'empty-home'), join(dir, 'logs'));
  const error = await errorOf(appium.endpoint());
  assert.equal(error.code, 'appium-missing');
  assert.match(error.message, /holds no UiAutomator2 driver/);
  assert.match(error.hint ?? '', /scripts\/setup\.sh/);
  await appium.stop();
});

void test('an Appium that exits at start is appium-start-failed with its last words, and nothing stays', async (t) => {
  const dir = await tempDir(t);
  const entry = join(dir, 'appium-broken.mjs');
  await writeFile(
    entry,
    "process.stderr.write('Error: the driver could not be loaded: uiautomator2 is broken\\n');\nprocess.exit(1);\n",
  );
  await chmod(entry, 0o755);
  const appium = server(config.appiumHome, join(dir, 'logs'), entry);
  const error = await errorOf(appium.endpoint());
  assert.equal(error.code, 'appium-start-failed');
  assert.match(error.message, /exited \(1\) before answering \/status/);
  assert.match(error.message, /uiautomator2 is broken/, 'the log tail is in the message');
  const guards = (await findAppiumProcesses()).filter((p) => p.args.includes(entry));
  assert.deepEqual(guards, []);
  await appium.stop();
});

void test(
  'the host Appium: started once, shared, stopped with its process group',
  { timeout: 60_000 },
  async (t) => {
    const dir = await tempDir(t);
    const appium = server(config.appiumHome, join(dir, 'logs'));
    t.after(() => appium.stop());
    const [a, b] = await Promise.all([appium.endpoint(), appium.endpoint()]);
    assert.equal(a.port, b.port, 'two jobs asking at once share one server');
    const status = (await (await fetch(`http://127.0.0.1:${a.port}/status`)).json()) as {
      value: { ready: boolean };
    };
    assert.equal(status.value.ready, true);
    assert.equal((await findAppiumProcesses(a.port)).length, 2, 'the guard and Appium');
    await appium.stop();
    assert.deepEqual(await findAppiumProcesses(a.port), []);
    await assert.rejects(appium.endpoint(), { code: 'appium-stopped' });
  },
);

void test(
  'a worker killed with SIGKILL takes its Appium server with it',
  { timeout: 60_000 },
  async (t) => {
    const dir = await tempDir(t);
    const owner = execa(
      process.execPath,
      ['--import', 'tsx', OWNER, config.appiumHome, join(dir, 'logs')],
      {
        cwd: REPO,
        reject: false,
        timeout: 50_000,
      },
    );
    t.after(async () => {
      owner.kill('SIGKILL');
      await owner.catch(() => undefined);
    });
    const port = await new Promise<number>((resolve, reject) => {
      owner.stdout?.on('data', (chunk: Buffer) => {
        const match = /appium-port (\d+)/.exec(chunk.toString());
        if (match) resolve(Number(match[1]));
      });
      void owner.then((result) => reject(new Error(`owner exited: ${result.stderr}`)));
    });
    assert.equal((await findAppiumProcesses(port)).length, 2);
    owner.kill('SIGKILL');
    await owner;
    assert.ok(
      await eventually(async () => (await findAppiumProcesses(port)).length === 0, 10_000),
      `left behind: ${JSON.stringify(await findAppiumProcesses(port))}`,
    );
  },
);
