import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Jimp } from 'jimp';
import { labImageSchema, type LabImage } from '../../src/android/lab-image.ts';
import { createLabDevice, type LabDevice } from '../../src/lab/os/index.ts';
import { layoutScreen } from '../../src/lab/os/ui/layout.ts';
import { findNodes } from '../../src/lab/os/ui/locators.ts';
import { silentLogger } from '../../src/log.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const SERVER_APKS = join(
  ROOT,
  '.appium/node_modules/appium-uiautomator2-driver/node_modules/appium-uiautomator2-server/apks',
);
const SERVER_APK = join(SERVER_APKS, 'appium-uiautomator2-server-v10.6.6.apk');
const TEST_APK = join(SERVER_APKS, 'appium-uiautomator2-server-debug-androidTest.apk');

async function uiSmall(): Promise<LabImage> {
  return labImageSchema.parse(
    JSON.parse(await readFile(join(ROOT, 'test/fixtures/lab/ui-small.json'), 'utf8')),
  );
}

async function bootDevice(t: TestContext, image: LabImage): Promise<LabDevice> {
  const root = await mkdtemp(join(tmpdir(), 'lab-os-ui-'));
  const systemDir = join(root, 'system');
  await mkdir(join(systemDir, 'etc'), { recursive: true });
  await writeFile(join(systemDir, 'build.prop'), '');
  const create = (): LabDevice =>
    createLabDevice({
      image,
      buildProp: {},
      rootDir: root,
      systemDir,
      consolePort: 5590,
      avdName: 'lab_ui',
      network: {
        dnsServer: { host: '127.0.0.1', port: 9 },
        httpProxy: { host: '127.0.0.1', port: 9 },
      },
      logger: silentLogger(),
      onKill: async () => undefined,
      bootDelayMs: 10,
    });
  let device: LabDevice;
  try {
    device = create();
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  await device.os.fs.init();
  device.os.start();
  t.after(async () => {
    await device.os.close();
    await rm(root, { recursive: true, force: true });
  });
  await new Promise<void>((done) => device.os.onBootCompleted(done));
  return device;
}

function sh(
  device: LabDevice,
  line: string,
  options: { stdin?: Buffer; signal?: AbortSignal } = {},
) {
  return device.shell
    .run(line, { root: false }, options.stdin, options.signal ? { signal: options.signal } : {})
    .then((o) => ({
      stdout: o.stdout.toString(),
      stderr: o.stderr.toString(),
      exitCode: o.exitCode,
    }));
}

const focused = async (device: LabDevice): Promise<string> =>
  /mCurrentFocus=Window\{\S+ u0 (\S+)\}/.exec(
    (await sh(device, 'dumpsys window displays')).stdout,
  )?.[1] ?? '';

test('the setup wizard shows at boot and its actions write the lab OS settings', async (t) => {
  const device = await bootDevice(t, await uiSmall());
  assert.equal(
    await focused(device),
    'com.android.provision/com.android.provision.DefaultActivity',
  );
  assert.equal((await sh(device, 'settings get global device_provisioned')).stdout, '0\n');
  await sh(device, 'input keyevent KEYCODE_HOME');
  assert.equal(device.os.ui.current().id, 'setup-welcome', 'home does not leave the setup wizard');
  assert.match(
    (await sh(device, 'am start -n com.example.notes/.NotesActivity')).stdout,
    /Starting/,
  );
  assert.equal(device.os.ui.current().id, 'setup-welcome', 'no app starts before setup is done');

  const box = findNodes(device.os.uiLayout(), 'id', 'usage_data')[0];
  assert.ok(box?.element !== undefined);
  device.os.ui.click(box.element);
  assert.equal((await sh(device, 'settings get secure lab_usage_data')).stdout, '1\n');
  device.os.ui.click(box.element);
  assert.equal((await sh(device, 'settings get secure lab_usage_data')).stdout, '0\n');
  // Taps land on what is drawn: the Next button's centre.
  const next = findNodes(device.os.uiLayout(), 'xpath', '//*[@text="Next"]')[0];
  assert.ok(next);
  const x = (next.bounds.left + next.bounds.right) / 2;
  const y = (next.bounds.top + next.bounds.bottom) / 2;
  await sh(device, `input tap ${x} ${y}`);
  assert.equal((await sh(device, 'settings get secure user_setup_complete')).stdout, '1\n');
  assert.equal((await sh(device, 'settings get global device_provisioned')).stdout, '1\n');
  assert.equal(await focused(device), 'com.android.launcher3/com.android.launcher3.Launcher');
});

test('apps open from the launcher, monkey and am start, and back walks the stack', async (t) => {
  const device = await bootDevice(t, await uiSmall());
  await sh(device, 'settings put secure user_setup_complete 1');
  device.os.ui.home();
  const icon = findNodes(device.os.uiLayout(), 'accessibility id', 'Notes')[0];
  assert.ok(icon?.element !== undefined, 'the launcher lists the app with a launcher activity');
  device.os.ui.click(icon.element);
  assert.equal(await focused(device), 'com.example.notes/com.example.notes.NotesActivity');
  assert.match(
    (await sh(device, 'dumpsys activity activities')).stdout,
    /mResumedActivity: ActivityRecord\{\S+ u0 com\.example\.notes\/\.NotesActivity t\d+\}/,
  );
  const search = findNodes(device.os.uiLayout(), 'id', 'search')[0];
  const label = findNodes(device.os.uiLayout(), 'id', 'empty')[0];
  assert.ok(search?.element !== undefined && label?.element !== undefined);
  assert.equal(device.os.ui.type(search.element, 'milk'), true);
  assert.equal(device.os.ui.type(label.element, 'nope'), false, 'only EditText takes text');
  const dumped = await sh(device, 'uiautomator dump /sdcard/window_dump.xml');
  assert.equal(dumped.stdout, 'UI hierchary dumped to: /sdcard/window_dump.xml\n');
  const xml = (await device.fileSystem.read('/sdcard/window_dump.xml')).toString();
  assert.match(
    xml,
    /<android\.widget\.EditText [^>]*text="milk" resource-id="com\.example\.notes:id\/search"/,
  );
  await sh(device, 'input keyevent 4');
  assert.equal(device.os.ui.current().id, 'home');

  const monkey = await sh(
    device,
    'monkey -p com.example.notes -c android.intent.category.LAUNCHER 1',
  );
  assert.equal(monkey.exitCode, 0);
  assert.match(monkey.stdout, /Events injected: 1/);
  assert.equal(device.os.ui.current().id, 'notes-main');
  assert.match((await sh(device, 'pidof com.example.notes')).stdout, /^\d+\n$/);
  await sh(device, 'am force-stop com.example.notes');
  assert.equal(device.os.ui.current().id, 'home');
  assert.equal((await sh(device, 'pidof com.example.notes')).exitCode, 1);

  const started = await sh(device, 'am start -W -n com.example.notes/.NotesActivity');
  assert.match(started.stdout, /Status: ok\n.*\nActivity: com\.example\.notes\/\.NotesActivity/);
  assert.equal(device.os.ui.current().id, 'notes-main');
  const missing = await sh(device, 'am start -n com.example.nothing/.Main');
  assert.match(
    missing.stderr,
    /Error type 3\nError: Activity class \{com\.example\.nothing\/com\.example\.nothing\.Main\} does not exist\./,
  );
  const noLauncher = await sh(device, 'monkey -p com.android.settings 1');
  assert.equal(noLauncher.exitCode, 252);
});

test('an image without ui shows a plain home screen; a ui naming unknown screens is refused', async (t) => {
  const plain = await uiSmall();
  delete plain.ui;
  const device = await bootDevice(t, {
    ...plain,
    apps: plain.apps.map(({ screen: _s, ...a }) => a),
  });
  assert.equal(device.os.ui.current().id, 'home');
  assert.equal((await sh(device, 'settings get global device_provisioned')).stdout, '1\n');
  assert.equal(
    findNodes(device.os.uiLayout(), '-android uiautomator', 'new UiSelector().text("Notes")')
      .length,
    1,
  );

  const broken = await uiSmall();
  const welcome = broken.ui?.screens[0]?.elements[2];
  assert.ok(welcome);
  welcome.onClick = { goTo: 'setup-nowhere' };
  await assert.rejects(bootDevice(t, broken), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'lab-image-invalid');
    assert.match(error.message, /unknown screen "setup-nowhere"/);
    return true;
  });
});

test('locators select by id, text, class, content-desc, UiSelector and XPath', async () => {
  const image = await uiSmall();
  const screen = image.ui?.screens[0];
  assert.ok(screen);
  const root = layoutScreen({
    id: screen.id,
    package: screen.package,
    activity: `${screen.package}${screen.activity}`,
    title: screen.title,
    elements: screen.elements.map((e) => ({ ...e, checked: e.checked ?? false })),
  });
  const texts = (strategy: string, selector: string): string[] =>
    findNodes(root, strategy, selector).map((n) => n.text);
  assert.deepEqual(texts('id', 'com.android.provision:id/next'), ['Next']);
  assert.deepEqual(texts('id', 'next'), ['Next']);
  assert.deepEqual(texts('class name', 'android.widget.CheckBox'), ['Share usage data']);
  assert.deepEqual(texts('-android uiautomator', 'new UiSelector().textContains("usage")'), [
    'Help improve this phone by sharing usage data.',
    'Share usage data',
  ]);
  assert.deepEqual(
    texts(
      '-android uiautomator',
      'new UiSelector().className("android.widget.Button").instance(0)',
    ),
    ['Next'],
  );
  assert.deepEqual(texts('-android uiautomator', 'new UiSelector().checkable(true)'), [
    'Share usage data',
  ]);
  assert.deepEqual(
    texts('-android uiautomator', 'new UiSelector().textMatches("(?i)NEXT|continue")'),
    ['Next'],
  );
  assert.deepEqual(
    texts(
      '-android uiautomator',
      'new UiScrollable(new UiSelector().scrollable(true)).scrollIntoView(new UiSelector().text("Next"))',
    ),
    ['Next'],
  );
  assert.deepEqual(texts('xpath', '//*[@clickable="true"]'), ['Share usage data', 'Next']);
  assert.deepEqual(texts('xpath', '//*[contains(@text, "usage data")]'), [
    'Help improve this phone by sharing usage data.',
    'Share usage data',
  ]);
  assert.deepEqual(texts('xpath', '//android.widget.Button[@text="Missing"]'), []);
  assert.throws(() => findNodes(root, 'xpath', '//*['), { name: 'InvalidSelectorError' });
  assert.throws(() => findNodes(root, '-android uiautomator', 'new UiSelector().frob("x")'), {
    name: 'InvalidSelectorError',
  });
});

test('screencap -p renders the screen as a PNG of the display size', async (t) => {
  const device = await bootDevice(t, await uiSmall());
  const out = await device.shell.run('screencap -p', { root: false });
  const png = await Jimp.read(Buffer.from(out.stdout));
  assert.deepEqual([png.bitmap.width, png.bitmap.height], [1080, 1920]);
  // The Next button is drawn filled with the accent colour where the layout puts it.
  const next = findNodes(device.os.uiLayout(), 'id', 'next')[0];
  assert.ok(next);
  const color = png.getPixelColor(next.bounds.left + 10, next.bounds.top + 10);
  assert.equal(color, 0x1a73e8ff);
});

test('pm installs the real UiAutomator2 server APKs from stdin and from a pushed file', async (t) => {
  const device = await bootDevice(t, await uiSmall());
  const server = await readFile(SERVER_APK);
  const streamed = await sh(device, `cmd package install -r -S ${server.length}`, {
    stdin: server,
  });
  assert.equal(streamed.stdout, 'Success\n');
  await device.fileSystem.write('/data/local/tmp/test.apk', await readFile(TEST_APK), 0o100644, 0);
  assert.equal((await sh(device, 'pm install -r /data/local/tmp/test.apk')).stdout, 'Success\n');

  assert.match(
    (await sh(device, 'cmd package list packages --show-versioncode')).stdout,
    /^package:io\.appium\.uiautomator2\.server versionCode:278$/m,
  );
  const packages = (await sh(device, 'pm list packages')).stdout;
  assert.match(packages, /^package:io\.appium\.uiautomator2\.server$/m);
  assert.match(packages, /^package:io\.appium\.uiautomator2\.server\.test$/m);
  assert.match(
    (await sh(device, 'dumpsys package io.appium.uiautomator2.server')).stdout,
    /versionName=10\.6\.6/,
  );
  assert.match(
    (await sh(device, 'pm path io.appium.uiautomator2.server')).stdout,
    /^package:\/data\/app\/io\.appium\.uiautomator2\.server-.*\/base\.apk\n$/,
  );
  assert.equal(
    (await sh(device, 'pm list instrumentation')).stdout,
    'instrumentation:io.appium.uiautomator2.server.test/androidx.test.runner.AndroidJUnitRunner (target=io.appium.uiautomator2.server)\n',
  );
  const junk = await sh(device, 'cmd package install -S 5', { stdin: Buffer.from('hello') });
  assert.match(junk.stdout, /^Failure \[INSTALL_PARSE_FAILED_NOT_APK/);

  assert.equal(
    (await sh(device, 'pm uninstall io.appium.uiautomator2.server.test')).stdout,
    'Success\n',
  );
  assert.doesNotMatch((await sh(device, 'pm list packages')).stdout, /server\.test/);
  assert.match((await sh(device, 'pm uninstall com.example.notes')).stdout, /^Failure/);
});

async function installServer(device: LabDevice): Promise<void> {
  for (const apk of [SERVER_APK, TEST_APK]) {
    const bytes = await readFile(apk);
    const result = await sh(device, `pm install -r -S ${bytes.length}`, { stdin: bytes });
    assert.equal(result.stdout, 'Success\n');
  }
}

const INSTRUMENT =
  'am instrument -w -e disableAnalytics true io.appium.uiautomator2.server.test/androidx.test.runner.AndroidJUnitRunner';

async function status(port: number): Promise<unknown> {
  const response = await fetch(`http://127.0.0.1:${port}/status`);
  return ((await response.json()) as { value: unknown }).value;
}

test('am instrument runs the UiAutomator2 server on each phone’s own device port 6790', async (t) => {
  const one = await bootDevice(t, await uiSmall());
  const two = await bootDevice(t, await uiSmall());
  const missing = await sh(one, INSTRUMENT);
  assert.match(missing.stdout, /Unable to find instrumentation info/);
  await installServer(one);
  await installServer(two);

  const controller = new AbortController();
  const first = sh(one, INSTRUMENT, { signal: controller.signal });
  const second = sh(two, INSTRUMENT.replace(' -w', ''));
  assert.equal((await second).exitCode, 0, 'without -w am instrument returns at once');
  const { eventually } = await import('../support/leftovers.ts');
  assert.ok(await eventually(async () => one.os.devicePorts.hostPortOf(6790) !== undefined, 5_000));
  const portOne = one.os.devicePorts.hostPortOf(6790);
  const portTwo = two.os.devicePorts.hostPortOf(6790);
  assert.ok(portOne !== undefined && portTwo !== undefined);
  assert.notEqual(portOne, portTwo, 'two phones each have their own 6790');
  assert.deepEqual(await status(portOne), {
    ready: true,
    message: 'UiAutomator2 Server is ready to accept commands',
    build: { version: '10.6.6', versionCode: 278 },
  });
  assert.match((await sh(one, 'ps -A')).stdout, /io\.appium\.uiautomator2\.server\n/);

  // The host closing the `adb shell am instrument -w` stream kills it.
  controller.abort();
  const ended = await first;
  assert.equal(
    ended.stdout,
    '\nio.appium.uiautomator2.server.test.AppiumUiAutomator2Server:\nINSTRUMENTATION_RESULT: shortMsg=Process crashed.\nINSTRUMENTATION_CODE: 0\n',
  );
  assert.equal(one.os.devicePorts.hostPortOf(6790), undefined);
  assert.doesNotMatch((await sh(one, 'ps -A')).stdout, /uiautomator2/);

  // A session's deletion shuts the server down; `-w` then prints the JUnit summary.
  const rerun = sh(one, INSTRUMENT);
  assert.ok(await eventually(async () => one.os.devicePorts.hostPortOf(6790) !== undefined, 5_000));
  const base = `http://127.0.0.1:${one.os.devicePorts.hostPortOf(6790)}`;
  const created = (await (
    await fetch(`${base}/session`, {
      method: 'POST',
      body: JSON.stringify({ capabilities: { firstMatch: [{}], alwaysMatch: {} } }),
    })
  ).json()) as { sessionId: string };
  const notFound = await fetch(`${base}/session/${created.sessionId}/element`, {
    method: 'POST',
    body: JSON.stringify({ strategy: 'id', selector: 'nothing_here' }),
  });
  assert.equal(notFound.status, 404);
  assert.equal(
    ((await notFound.json()) as { value: { error: string } }).value.error,
    'no such element',
  );
  // A W3C pointer tap on the check box's centre toggles it, as a click does.
  const box = (await (
    await fetch(`${base}/session/${created.sessionId}/element`, {
      method: 'POST',
      body: JSON.stringify({ strategy: 'id', selector: 'com.android.provision:id/usage_data' }),
    })
  ).json()) as { value: { ELEMENT: string } };
  const tapped = await fetch(`${base}/session/${created.sessionId}/actions`, {
    method: 'POST',
    body: JSON.stringify({
      actions: [
        {
          type: 'pointer',
          id: 'finger1',
          parameters: { pointerType: 'touch' },
          actions: [
            { type: 'pointerMove', duration: 0, x: 0, y: 0, origin: box.value },
            { type: 'pointerDown', button: 0 },
            { type: 'pause', duration: 100 },
            { type: 'pointerUp', button: 0 },
          ],
        },
      ],
    }),
  });
  assert.equal(tapped.status, 200);
  assert.equal((await sh(one, 'settings get secure lab_usage_data')).stdout, '1\n');
  const checked = (await (
    await fetch(
      `${base}/session/${created.sessionId}/element/${box.value.ELEMENT}/attribute/checked`,
    )
  ).json()) as { value: string };
  assert.equal(checked.value, 'true');
  await fetch(`${base}/session/${created.sessionId}`, { method: 'DELETE' });
  assert.match((await rerun).stdout, /OK \(1 test\)/);

  // force-stop ends the other phone's server.
  await sh(two, 'am force-stop io.appium.uiautomator2.server');
  assert.ok(await eventually(async () => two.os.devicePorts.hostPortOf(6790) === undefined, 5_000));
});
