import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { ImageStore, intakeImage, type StoredImage } from '../../src/intake/index.ts';
import { readExt4File } from '../../src/android/ext4.ts';
import { buildLabImage, type BuiltLabImage } from '../../src/image-build/index.ts';
import {
  buildFingerprint,
  labImageSchema,
  LAB_IMAGE_PATH_IN_SYSTEM,
  type LabImage,
} from '../../src/android/lab-image.ts';
import { sharedLabCache } from '../support/lab-build-cache.ts';

const LAB_DIR = 'images/lab';
let work: string;
/** The suite's shared build cache when there is one, else a private one: the builder is the same. */
const cacheDir = () => sharedLabCache ?? join(work, 'cache');
let store: ImageStore;
const labs = new Map<
  string,
  { json: LabImage; jsonBytes: Buffer; built: BuiltLabImage; stored: StoredImage }
>();

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'intake-lab-'));
  store = new ImageStore(join(work, 'data'));
  const files = (await readdir(LAB_DIR)).filter((f) => f.endsWith('.json')).sort();
  // Built side by side: most of a build is JVM start-up, which overlaps well.
  await Promise.all(
    files.map(async (file) => {
      const jsonBytes = await readFile(join(LAB_DIR, file));
      const json = labImageSchema.parse(JSON.parse(jsonBytes.toString('utf8')));
      const built = await buildLabImage(join(LAB_DIR, file), join(work, 'out'), {
        cacheDir: cacheDir(),
      });
      const stored = await intakeImage(built.zipPath, store);
      labs.set(json.name, { json, jsonBytes, built, stored });
    }),
  );
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

function onErofs(jsonBytes: Buffer): boolean {
  const raw = JSON.parse(jsonBytes.toString('utf8')) as { system?: { filesystem?: string } };
  return raw.system?.filesystem === 'erofs';
}

function lab(name: string) {
  const found = labs.get(name);
  assert.ok(found, `lab image ${name} was built`);
  return found;
}

test('every lab image is built into an SDK-style zip and stored with its build facts', async () => {
  assert.ok(labs.size >= 4);
  for (const { json, jsonBytes, built, stored } of labs.values()) {
    const listing = (await execa('unzip', ['-Z1', built.zipPath], { timeout: 10_000 })).stdout
      .split('\n')
      .sort();
    assert.deepEqual(listing, [
      `${json.build.abi}/build.prop`,
      `${json.build.abi}/source.properties`,
      `${json.build.abi}/system.img`,
    ]);
    assert.equal(stored.id, built.sha256);
    assert.equal(stored.reused, false);
    const m = stored.metadata;
    assert.equal(m.fingerprint, buildFingerprint(json.build));
    assert.equal(m.manufacturer, json.build.manufacturer);
    assert.equal(m.brand, json.build.brand);
    assert.equal(m.model, json.build.model);
    assert.equal(m.androidVersion, json.build.release);
    assert.equal(m.apiLevel, json.build.sdk);
    assert.equal(m.securityPatch, json.build.securityPatch);
    assert.equal(m.incremental, json.build.incremental);
    assert.equal(m.abis[0], json.build.abi);
    assert.equal(m.lineage, `${json.build.manufacturer}/${json.build.model}`.toLowerCase());
    assert.equal(m.labImageName, json.name);
    if (onErofs(jsonBytes)) {
      // Built not to boot as it is: the lab phone reads ext4 only (see intake-transplant).
      assert.equal(m.filesystem, 'erofs');
      assert.equal(m.labImage, false);
      assert.equal(stored.inventory.runPlan.mode, 'static-only');
      continue;
    }
    assert.equal(m.labImage, true);
    assert.equal(stored.inventory.runPlan.mode, 'lab-phone');
    assert.match(stored.inventory.runPlan.reason, /no kernel or ramdisk/);
    const storedJson = await readExt4File(stored.systemImagePath, LAB_IMAGE_PATH_IN_SYSTEM, {
      timeoutMs: 10_000,
      maxBytes: 1e6,
    });
    assert.deepEqual(
      storedJson,
      lab(json.name).jsonBytes,
      'the behaviour file the lab phone reads',
    );
    assert.match(
      await readFile(join(stored.dir, 'build.prop'), 'utf8'),
      /^ro\.build\.version\.sdk=\d+$/m,
    );
  }
});

test('the inventory lists every app with its manifest, signer and destinations', () => {
  for (const { json, stored } of labs.values()) {
    const apps = stored.inventory.apps;
    assert.deepEqual(apps.map((a) => a.package).sort(), json.apps.map((a) => a.package).sort());
    for (const spec of json.apps) {
      const app = apps.find((a) => a.package === spec.package);
      assert.ok(app);
      assert.deepEqual(app.problems, [], `${spec.package} reads cleanly`);
      assert.equal(app.path, spec.path);
      assert.equal(app.versionCode, spec.versionCode);
      assert.equal(app.versionName, spec.versionName);
      assert.equal(app.label, spec.label);
      assert.equal(app.sharedUserId, spec.sharedUserId);
      assert.equal(app.privileged, spec.path.startsWith('/system/priv-app/'));
      assert.deepEqual(app.permissions.map((p) => p.name).sort(), [...spec.permissions].sort());
      assert.equal(
        app.bootReceivers.length > 0,
        spec.receivers.includes('android.intent.action.BOOT_COMPLETED'),
      );
      assert.match(app.signingCertSha256 ?? '', /^[0-9a-f]{64}$/);
      assert.equal(app.platformSigned, spec.sharedUserId === 'android.uid.system');
      // The inventory names hosts of URLs; address literals of raw channels are not URLs.
      const urlChannels: readonly string[] = ['http', 'https', 'doh'];
      const hosts = spec.behaviours.flatMap((b) =>
        'host' in b.send && urlChannels.includes(b.send.channel) ? [b.send.host] : [],
      );
      assert.deepEqual(app.hosts, [...new Set(hosts)].sort());
    }
  }
  const sysoper = lab('adups-2016').stored.inventory.apps.find(
    (a) => a.package === 'com.adups.fota.sysoper',
  );
  assert.equal(
    sysoper?.permissions.find((p) => p.name === 'android.permission.READ_SMS')?.protection,
    'dangerous',
  );
  assert.equal(
    sysoper?.permissions.find((p) => p.name === 'android.permission.INSTALL_PACKAGES')?.protection,
    'privileged',
  );
});

test('adups-2016 flags both ADUPS apps with their evidence; clean has no finding', () => {
  const findings = lab('adups-2016').stored.inventory.findings;
  for (const pkg of ['com.adups.fota', 'com.adups.fota.sysoper']) {
    const own = findings.filter((f) => f.package === pkg);
    assert.ok(
      own.some((f) => f.evidence.some((e) => e.kind === 'package' && e.value === pkg)),
      `${pkg} flagged by name`,
    );
    assert.ok(
      own.some((f) => f.evidence.some((e) => e.kind === 'host')),
      `${pkg} flagged by a host in its dex`,
    );
  }
  const sysoper = findings.filter((f) => f.package === 'com.adups.fota.sysoper');
  assert.ok(
    sysoper.some((f) =>
      f.evidence.some((e) => e.kind === 'url' && e.value.includes('bigdata.adups.com')),
    ),
  );
  assert.ok(sysoper.some((f) => f.evidence.some((e) => e.value === 'android.permission.READ_SMS')));
  assert.deepEqual(lab('clean').stored.inventory.findings, []);
});

test('xiaomi-2021 is an Android 11 build whose analytics, blocklist and SMS apps are flagged with evidence', () => {
  const { stored } = lab('xiaomi-2021');
  assert.equal(stored.metadata.apiLevel, 30);
  assert.equal(stored.metadata.manufacturer, 'Xiaomi');
  const findings = stored.inventory.findings;
  const flagged = (pkg: string, ruleId: string) =>
    findings.find((f) => f.package === pkg && f.ruleId === ruleId);
  assert.ok(
    flagged('com.android.browser', 'analytics-hosts')?.evidence.some(
      (e) => e.kind === 'host' && e.value === 'sa.api.intl.miui.com',
    ),
    'the browser flagged by the Sensors Analytics host in its code',
  );
  assert.ok(
    flagged('com.miui.securitycenter', 'vendor-remote-content-control-hosts')?.evidence.some(
      (e) => e.kind === 'host' && e.value === 'api.sec.miui.com',
    ),
    'the security centre flagged by the blocklist config host',
  );
  assert.ok(
    flagged('com.miui.cloudservice', 'system-app-sends-sms-silently')?.evidence.some(
      (e) => e.value === 'android.permission.SEND_SMS',
    ),
    'the cloud service flagged as able to send SMS unseen',
  );
  assert.deepEqual(
    findings.filter((f) => f.package === 'com.miui.home' || f.package === 'com.android.deskclock'),
    [],
    'apps that do nothing suspicious are not flagged',
  );
});

test('the same image twice is stored once; a rebuild comes from the cache', async () => {
  const { built, stored } = lab('adups-2016');
  const before = await store.list();
  const again = await intakeImage(built.zipPath, store);
  assert.equal(again.reused, true);
  assert.equal(again.id, stored.id);
  assert.deepEqual(await store.list(), before);
  const rebuilt = await buildLabImage(join(LAB_DIR, 'adups-2016.json'), join(work, 'out2'), {
    cacheDir: cacheDir(),
  });
  assert.equal(rebuilt.cached, true);
  assert.equal(rebuilt.sha256, built.sha256);
});

test('the system.img alone, its sparse form and the unpacked directory give the same facts', async () => {
  const { stored, built } = lab('adups-2016-fixed');
  const raw = join(work, 'fixed-system.img');
  await copyFile(stored.systemImagePath, raw);
  const sparse = join(work, 'fixed-system.simg');
  await execa('img2simg', [raw, sparse], { timeout: 30_000 });
  const dir = join(work, 'fixed-dir');
  await execa('unzip', ['-q', built.zipPath, '-d', dir], { timeout: 30_000 });

  for (const [input, kind] of [
    [raw, 'ext4'],
    [sparse, 'sparse'],
    [dir, 'directory'],
  ] as const) {
    const other = await intakeImage(input, store);
    assert.equal(other.metadata.sourceKind, kind);
    assert.notEqual(other.id, stored.id);
    for (const key of [
      'fingerprint',
      'model',
      'apiLevel',
      'securityPatch',
      'lineage',
      'labImageName',
    ] as const) {
      assert.equal(other.metadata[key], stored.metadata[key], `${kind}: ${key}`);
    }
    assert.deepEqual(other.inventory.findings, stored.inventory.findings, `${kind}: findings`);
    const { size } = await stat(other.systemImagePath);
    assert.equal(size, stored.metadata.systemImageBytes, `${kind}: raw ext4 stored`);
  }
});

test('two intakes of one image at once store one intact entry', async () => {
  const { built } = lab('clean');
  const fresh = new ImageStore(join(work, 'race'));
  const [a, b] = await Promise.all([
    intakeImage(built.zipPath, fresh),
    intakeImage(built.zipPath, fresh),
  ]);
  assert.equal(a.id, b.id);
  assert.deepEqual(await fresh.list(), [a.id]);
  assert.ok([a.reused, b.reused].includes(false), 'one of them did the work');
  const reread = await fresh.get(a.id);
  assert.equal(reread?.inventory.apps.length, lab('clean').json.apps.length);
  assert.deepEqual(await readdir(join(fresh.root, '.partial')), []);
});
