import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { Jimp } from 'jimp';
import { remote } from 'webdriverio';
import { eventually, findAppiumProcesses, findLabPhoneProcesses } from '../support/leftovers.ts';
import { buildSystemImage, freeLoopbackPort, waitForLine } from '../support/lab-process.ts';

/**
 * The real Appium server with its real UiAutomator2 driver, and a real WebdriverIO client,
 * drive a lab phone through the real adb: the driver installs its server APKs, starts the
 * instrumentation, forwards to device port 6790 and proxies WebDriver commands to the lab
 * phone's UiAutomator2 server model.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const APPIUM = join(ROOT, 'node_modules/.bin/appium');
const APPIUM_HOME = join(ROOT, '.appium');
const ANDROID_HOME = '/usr/lib/android-sdk';
const ADB = join(ANDROID_HOME, 'platform-tools/adb');

async function buildImage(dir: string): Promise<string> {
  return buildSystemImage(dir, {
    'build.prop': 'ro.build.display.id=LAB_UI_TEST\n',
    'etc/canarytrap/lab-image.json': await readFile(join(ROOT, 'test/fixtures/lab/ui-small.json')),
  });
}

interface Rig {
  serial: string;
  adbServerPort: number;
  appiumPort: number;
  appiumLog: string;
  adb: (...args: string[]) => Promise<string>;
  /** A long-running adb client, stopped with the rig at the latest. */
  spawnAdb: (...args: string[]) => ResultPromise;
  /** The run went through: its temp dir (with the Appium log) may go. */
  passed: () => void;
  /** Runs before the rig stops Appium and the phone. */
  beforeStop: (step: () => Promise<void>) => void;
}

/** What the last rig started, for the leftover check. */
const started: { appiumPorts: number[]; consolePorts: number[] } = {
  appiumPorts: [],
  consolePorts: [],
};

async function startRig(t: TestContext): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'lab-ui-appium-'));
  const home = join(dir, 'home');
  await mkdir(home);
  const adbServerPort = await freeLoopbackPort();
  const env = { HOME: home, ANDROID_ADB_SERVER_PORT: String(adbServerPort) };
  const adb = async (...args: string[]): Promise<string> => {
    const result = await execa(ADB, ['-P', String(adbServerPort), ...args], {
      env,
      timeout: 20_000,
      reject: false,
    });
    return `${result.stdout}${result.stderr}`;
  };
  const children: ResultPromise[] = [];
  let passed = false;
  const firstSteps: Array<() => Promise<void>> = [];
  t.after(async () => {
    for (const step of firstSteps) await step().catch(() => undefined);
    for (const child of children.reverse()) {
      if (child.exitCode === null) child.kill('SIGTERM');
      await child.catch(() => undefined);
    }
    await adb('kill-server');
    // Keep the Appium log of a failed run for whoever reads the failure.
    if (passed) await rm(dir, { recursive: true, force: true });
    else t.diagnostic(`kept ${dir} (the Appium log is appium.log)`);
  });
  await execa(ADB, ['-P', String(adbServerPort), 'start-server'], {
    env,
    timeout: 20_000,
    stdio: 'ignore',
  });

  const imageDir = await buildImage(dir);
  const consolePort = await freeLoopbackPort(true);
  started.consolePorts.push(consolePort);
  const phone = execa(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'src/lab/main.ts'),
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
      join(dir, 'work'),
      '--auth-token-file',
      join(home, '.emulator_console_auth_token'),
    ],
    { env, reject: false, timeout: 120_000, cwd: ROOT },
  );
  children.push(phone);
  await waitForLine(phone, /"ready":true/, 30_000);
  const serial = `emulator-${consolePort}`;
  assert.ok(
    await eventually(
      async () =>
        (await adb('-s', serial, 'shell', 'getprop', 'sys.boot_completed')).trim() === '1',
      10_000,
    ),
    'the lab phone boots',
  );

  const appiumPort = await freeLoopbackPort();
  started.appiumPorts.push(appiumPort);
  const appiumLog = join(dir, 'appium.log');
  const appium = execa(
    APPIUM,
    [
      '--address',
      '127.0.0.1',
      '--port',
      String(appiumPort),
      '--log-level',
      'debug',
      '--log',
      appiumLog,
      '--log-no-colors',
    ],
    {
      env: { ...env, APPIUM_HOME, ANDROID_HOME, ANDROID_SDK_ROOT: ANDROID_HOME },
      reject: false,
      timeout: 120_000,
      cwd: ROOT,
    },
  );
  children.push(appium);
  await waitForLine(appium, /Appium REST http interface listener started/, 30_000);
  return {
    serial,
    adbServerPort,
    appiumPort,
    appiumLog,
    adb,
    spawnAdb: (...args) => {
      const child = execa(ADB, ['-P', String(adbServerPort), ...args], {
        env,
        reject: false,
        timeout: 60_000,
      });
      children.push(child);
      return child;
    },
    passed: () => {
      passed = true;
    },
    beforeStop: (step) => firstSteps.push(step),
  };
}

test('the real Appium UiAutomator2 driver drives the lab phone through real adb', async (t) => {
  const rig = await startRig(t);
  const { adb, serial } = rig;

  const browser = await remote({
    hostname: '127.0.0.1',
    port: rig.appiumPort,
    logLevel: 'warn',
    connectionRetryCount: 0,
    connectionRetryTimeout: 90_000,
    capabilities: {
      platformName: 'Android',
      'appium:automationName': 'UiAutomator2',
      'appium:udid': serial,
      'appium:adbPort': rig.adbServerPort,
      'appium:newCommandTimeout': 120,
      'appium:uiautomator2ServerLaunchTimeout': 20_000,
      'appium:adbExecTimeout': 20_000,
    },
  });
  let deleted = false;
  rig.beforeStop(async () => {
    if (!deleted) await browser.deleteSession();
  });

  const packages = await adb('-s', serial, 'shell', 'pm', 'list', 'packages');
  assert.match(packages, /^package:io\.appium\.uiautomator2\.server$/m);
  assert.match(packages, /^package:io\.appium\.uiautomator2\.server\.test$/m);
  const dumped = await adb(
    '-s',
    serial,
    'shell',
    'dumpsys',
    'package',
    'io.appium.uiautomator2.server',
  );
  assert.match(dumped, /versionName=10\.6\.6/);

  // The setup wizard is shown at boot.
  const byId = browser.$('id=com.android.provision:id/usage_data');
  assert.equal(await byId.getText(), 'Share usage data');
  assert.equal(await byId.getAttribute('checked'), 'false');
  const byText = browser.$('android=new UiSelector().text("Share usage data")');
  assert.equal(await byText.getAttribute('resource-id'), 'com.android.provision:id/usage_data');
  await byText.click();
  assert.equal(await byId.getAttribute('checked'), 'true');
  assert.equal(
    (await adb('-s', serial, 'shell', 'settings', 'get', 'secure', 'lab_usage_data')).trim(),
    '1',
  );

  assert.equal(await browser.$$('android=new UiSelector().checkable(true)').length, 1);
  const byXpath = browser.$('//android.widget.Button[@text="Next"]');
  assert.equal(await byXpath.isDisplayed(), true);
  const size = await byXpath.getSize();
  assert.ok(size.width > 0 && size.height > 0);

  const source = await browser.getPageSource();
  assert.match(source, /<hierarchy [^>]*rotation="0"/);
  assert.match(
    source,
    /<android\.widget\.CheckBox [^>]*text="Share usage data" resource-id="com\.android\.provision:id\/usage_data" checkable="true" checked="true"/,
  );

  const png = await Jimp.read(Buffer.from(await browser.takeScreenshot(), 'base64'));
  const window = await browser.getWindowSize();
  assert.deepEqual([png.bitmap.width, png.bitmap.height], [window.width, window.height]);

  // WebdriverIO hands the W3C error back as the command's value or as a rejection.
  const missing: unknown = await browser
    .findElement('id', 'com.android.provision:id/no_such_thing')
    .then(
      (value) => value,
      (error: unknown) => error,
    );
  const described =
    missing instanceof Error ? `${missing.name} ${missing.message}` : JSON.stringify(missing);
  assert.match(described, /no such element/i);
  assert.equal(await browser.$('id=com.android.provision:id/no_such_thing').isExisting(), false);

  await byXpath.click();
  assert.equal(
    (await adb('-s', serial, 'shell', 'settings', 'get', 'secure', 'user_setup_complete')).trim(),
    '1',
  );
  assert.equal(await browser.getCurrentPackage(), 'com.android.launcher3');

  await browser.activateApp('com.example.notes');
  assert.equal(await browser.getCurrentPackage(), 'com.example.notes');
  assert.equal(await browser.$('id=com.example.notes:id/empty').getText(), 'No notes yet');
  assert.equal(await browser.$('~Create a note').getText(), 'New note');
  const search = browser.$('id=com.example.notes:id/search');
  await search.setValue('milk');
  assert.equal(await search.getText(), 'milk');
  await browser.back();
  assert.equal(await browser.getCurrentPackage(), 'com.android.launcher3');

  await browser.startActivity('com.example.notes', '.NotesActivity');
  assert.match(await browser.getCurrentActivity(), /NotesActivity$/);
  await browser.pressKeyCode(4);
  assert.equal(await browser.getCurrentPackage(), 'com.android.launcher3');

  await browser.deleteSession();
  deleted = true;
  assert.ok(
    await eventually(
      async () =>
        !(await adb('-s', serial, 'shell', 'ps', '-A')).includes('io.appium.uiautomator2.server'),
      10_000,
    ),
    'the instrumentation ends with the session',
  );
  const forwards = await adb('-s', serial, 'forward', '--list');
  assert.doesNotMatch(forwards, /tcp:6790/);

  // A second session, with the capabilities the worker uses, finds the server installed already.
  const again = await remote({
    hostname: '127.0.0.1',
    port: rig.appiumPort,
    logLevel: 'warn',
    connectionRetryCount: 0,
    connectionRetryTimeout: 90_000,
    capabilities: {
      platformName: 'Android',
      'appium:automationName': 'UiAutomator2',
      'appium:udid': serial,
      'appium:adbPort': rig.adbServerPort,
      'appium:systemPort': await freeLoopbackPort(),
      'appium:noReset': true,
      'appium:skipDeviceInitialization': true,
      'appium:skipUnlock': true,
      'appium:skipLogcatCapture': true,
    },
  });
  assert.match(await again.getPageSource(), /package="com\.android\.launcher3"/);
  await again.deleteSession();

  // `adb shell am instrument -w` runs the server until its adb stream closes.
  const instrument = rig.spawnAdb(
    '-s',
    serial,
    'shell',
    'am',
    'instrument',
    '-w',
    'io.appium.uiautomator2.server.test/androidx.test.runner.AndroidJUnitRunner',
  );
  const serverRuns = async (): Promise<boolean> =>
    (await adb('-s', serial, 'shell', 'ps', '-A')).includes('io.appium.uiautomator2.server');
  assert.ok(await eventually(serverRuns, 10_000), 'am instrument starts the server');
  instrument.kill('SIGTERM');
  await instrument;
  assert.ok(
    await eventually(async () => !(await serverRuns()), 10_000),
    'closing the stream ends the instrumentation',
  );
  rig.passed();
});

test('no lab phone or Appium server outlives the test above', async () => {
  assert.ok(started.appiumPorts.length > 0, 'the test above started an Appium server');
  for (const port of started.appiumPorts) assert.deepEqual(await findAppiumProcesses(port), []);
  assert.deepEqual(await findLabPhoneProcesses(new Set(started.consolePorts)), []);
});
