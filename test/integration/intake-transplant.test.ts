import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import {
  carryOutTransplant,
  findBaseImages,
  ImageStore,
  intakeImage,
  transplantSettings,
  type StoredImage,
} from '../../src/intake/index.ts';
import { readExt4File } from '../../src/android/ext4.ts';
import { buildLabImage, type BaseCatalogue } from '../../src/image-build/index.ts';
import { labImageSchema, LAB_IMAGE_PATH_IN_SYSTEM } from '../../src/android/lab-image.ts';
import { sharedLabBuild, sharedLabCache } from '../support/lab-build-cache.ts';

/**
 * A vendor image that cannot boot as it is (zeno-2019-erofs: erofs, arm64, no kernel) moved
 * onto the stock lab base of its API level (base-api28), and a real (non-lab) vendor image
 * moved onto an emulator system-image directory: plans, built images read back with debugfs,
 * and the precise reasons when no base fits.
 */

const VENDOR_JSON = 'images/lab/zeno-2019-erofs.json';
let work: string;
let store: ImageStore;
let bases: BaseCatalogue;
let labBuildDir: string;
let vendor: StoredImage;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'intake-transplant-'));
  const dataRoot = join(work, 'data');
  store = new ImageStore(dataRoot);
  const settings = await transplantSettings({
    dataRoot,
    baseImageDirs: [],
    androidHome: undefined,
    labImageSharedCache: sharedLabCache,
  });
  bases = settings.bases;
  labBuildDir = settings.labBuildDir;
  const built = await buildLabImage(VENDOR_JSON, join(work, 'out'), sharedLabBuild());
  vendor = await intakeImage(built.zipPath, store, { bases });
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

const ext4 = (image: string, path: string) =>
  readExt4File(image, path, { timeoutMs: 30_000, maxBytes: 16 * 1024 * 1024 });

test('an erofs vendor image is planned onto the lab base of its API level', () => {
  assert.equal(vendor.metadata.filesystem, 'erofs');
  assert.equal(vendor.metadata.labImage, false);
  const plan = vendor.inventory.runPlan;
  assert.equal(plan.mode, 'transplant', plan.reason);
  assert.match(plan.reason, /erofs, which the lab phone cannot read/);
  assert.match(plan.reason, /base-api28 \(API 28, x86_64\)/);
  const t = plan.transplant;
  assert.ok(t);
  assert.deepEqual(t.base, {
    kind: 'lab',
    name: 'base-api28',
    apiLevel: 28,
    abi: 'x86_64',
    launcher: 'lab-phone',
  });
  assert.deepEqual(
    t.moves.map((m) => [m.package, m.to, m.placement]),
    [
      ['com.zeno.weather', '/system/app/ZenoWeather/ZenoWeather.apk', 'app'],
      ['com.zeno.analytics', '/system/priv-app/ZenoAnalytics/ZenoAnalytics.apk', 'priv-app'],
      ['com.zeno.fota', '/system/priv-app/ZenoFota/ZenoFota.apk', 'priv-app'],
    ],
  );
  assert.deepEqual(
    t.skipped.map((s) => s.package),
    ['com.android.deskclock'],
    'the AOSP clock the base has stays behind',
  );
  assert.equal(t.allowList.path, '/system/etc/permissions/privapp-permissions-zeno.xml');
  assert.deepEqual(t.allowList.entries, [
    {
      package: 'com.zeno.analytics',
      permissions: [
        'android.permission.PACKAGE_USAGE_STATS',
        'android.permission.READ_PRIVILEGED_PHONE_STATE',
      ],
    },
    {
      package: 'com.zeno.fota',
      permissions: ['android.permission.INSTALL_PACKAGES', 'android.permission.REBOOT'],
    },
  ]);
  const fota = t.moves.find((m) => m.package === 'com.zeno.fota');
  assert.ok(fota?.losses.some((l) => /loses the platform signature/.test(l)));
  assert.ok(fota?.losses.some((l) => /android\.uid\.system/.test(l)));
  assert.equal(fota?.resign, true, 'the system-uid app is rewritten and re-signed');
  assert.deepEqual(t.moves.find((m) => m.package === 'com.zeno.analytics')?.losses, []);
  assert.equal(t.moves.find((m) => m.package === 'com.zeno.analytics')?.resign, false);
  assert.ok(t.limitations.some((l) => l.startsWith('com.zeno.fota: ') && /platform/.test(l)));
});

test('carrying it out builds an ext4 image holding the APKs, the allow-list and the merged behaviours', async () => {
  const { image, outcome } = await carryOutTransplant(vendor, store, {
    catalogue: bases,
    labBuildDir,
  });
  assert.equal(outcome.reused, false);
  assert.equal(image.metadata.filesystem, 'ext4');
  assert.equal(image.metadata.labImage, true, 'the lab phone boots it');
  assert.equal(image.inventory.runPlan.mode, 'lab-phone');
  assert.equal(image.metadata.transplant?.vendorImageId, vendor.id);
  assert.equal(image.metadata.apiLevel, 28);

  assert.equal(outcome.allowListPath, '/system/etc/permissions/privapp-permissions-zeno.xml');
  // The lab base keeps /system's content at the root of its filesystem.
  const xml = (
    await ext4(image.systemImagePath, '/etc/permissions/privapp-permissions-zeno.xml')
  )?.toString();
  assert.ok(
    xml?.includes(
      '<privapp-permissions package="com.zeno.fota">\n' +
        '        <permission name="android.permission.INSTALL_PACKAGES"/>\n' +
        '        <permission name="android.permission.REBOOT"/>\n' +
        '    </privapp-permissions>',
    ),
    xml,
  );
  assert.match(xml ?? '', /^<\?xml version="1.0" encoding="utf-8"\?>\n<permissions>\n/);

  const byPackage = new Map(image.inventory.apps.map((a) => [a.package, a]));
  for (const move of vendor.inventory.runPlan.transplant?.moves ?? []) {
    const app = byPackage.get(move.package);
    assert.ok(app, `${move.package} is on the built image`);
    assert.equal(app.path, move.to);
    assert.deepEqual(app.problems, []);
    const original = vendor.inventory.apps.find((a) => a.package === move.package);
    if (move.resign) {
      // Its manifest without sharedUserId, under a key of the transplant: it still verifies.
      assert.equal(original?.sharedUserId, 'android.uid.system');
      assert.equal(app.sharedUserId, undefined);
      assert.equal(app.systemUid, false);
      assert.match(app.signingCertSha256 ?? '', /^[0-9a-f]{64}$/);
      assert.notEqual(app.signingCertSha256, original?.signingCertSha256);
      assert.deepEqual(app.permissions, original?.permissions, 'the rest of the manifest is kept');
      assert.deepEqual(app.bootReceivers, original?.bootReceivers);
      assert.equal(app.versionName, original?.versionName);
    } else {
      assert.equal(app.signingCertSha256, original?.signingCertSha256, 'the same APK bytes');
    }
    assert.ok((await ext4(image.systemImagePath, move.to.slice('/system'.length)))?.length);
  }
  assert.ok(byPackage.has('com.android.settings'), "the base's own apps are kept");
  assert.equal(
    byPackage.get('com.android.deskclock')?.signingCertSha256 !==
      vendor.inventory.apps.find((a) => a.package === 'com.android.deskclock')?.signingCertSha256,
    true,
    "the base's clock, not the vendor's",
  );
  assert.deepEqual(
    outcome.moved.map((m) => m.package),
    ['com.zeno.weather', 'com.zeno.analytics', 'com.zeno.fota'],
  );
  assert.deepEqual(
    outcome.notMoved.map((m) => m.package),
    ['com.android.deskclock'],
  );

  const lab = labImageSchema.parse(
    JSON.parse((await ext4(image.systemImagePath, LAB_IMAGE_PATH_IN_SYSTEM))?.toString() ?? ''),
  );
  assert.equal(lab.name, 'zeno-2019-erofs-on-base-api28');
  assert.equal(lab.build.model, 'Android SDK built for x86_64', "the base's build");
  const fota = lab.apps.find((a) => a.package === 'com.zeno.fota');
  assert.equal(fota?.path, '/system/priv-app/ZenoFota/ZenoFota.apk');
  assert.equal(fota?.sharedUserId, undefined, 'no longer the system user');
  assert.equal(
    lab.apps.find((a) => a.package === 'com.zeno.analytics')?.behaviours[0]?.send.channel,
    'https',
  );
  assert.equal(lab.apps.filter((a) => a.package === 'com.android.deskclock').length, 1);

  const again = await carryOutTransplant(vendor, store, { catalogue: bases, labBuildDir });
  assert.equal(again.outcome.reused, true, 'the same transplant is built once');
  assert.equal(again.image.id, image.id);
});

test('a vendor image of an API level without a base stays static-only and says what to add', async () => {
  const json = labImageSchema.parse(JSON.parse(await readFile(VENDOR_JSON, 'utf8')));
  const path = join(work, 'zeno-api29.json');
  await writeFile(
    path,
    JSON.stringify({
      ...json,
      name: 'zeno-api29',
      system: { filesystem: 'erofs' },
      build: { ...json.build, sdk: 29, release: '10' },
    }),
  );
  const built = await buildLabImage(path, join(work, 'out'), sharedLabBuild());
  const stored = await intakeImage(built.zipPath, store, { bases });
  const plan = stored.inventory.runPlan;
  assert.equal(plan.mode, 'static-only');
  assert.equal(plan.transplant, undefined);
  assert.match(plan.reason, /no lab base image of API 29/);
  assert.match(plan.reason, /base-api28 \(API 28, x86_64\)/, 'names the bases it found');
  assert.match(plan.reason, /images\/lab\/base-api29\.json/);
  assert.match(plan.reason, /CANARYTRAP_BASE_IMAGES/);
  assert.ok(stored.inventory.apps.length >= 4, 'the static inventory is still there');
});

test('a real vendor image moves onto an emulator system image of its API level', async () => {
  // A real vendor image: the lab apps without the behaviour file, with an arm64 library.
  const zenoExt4 = await systemImageOf(await ext4Variant(VENDOR_JSON));
  const lib = join(work, 'libzeno.so');
  await writeFile(lib, Buffer.concat([Buffer.from('\x7fELF'), Buffer.alloc(60)]));
  await debugfsWrite(zenoExt4, [
    `rm ${LAB_IMAGE_PATH_IN_SYSTEM}`,
    'mkdir /priv-app/ZenoAnalytics/lib',
    'mkdir /priv-app/ZenoAnalytics/lib/arm64',
    `write ${lib} /priv-app/ZenoAnalytics/lib/arm64/libzeno.so`,
  ]);

  // An emulator system-image directory of API 28, as the SDK lays it out.
  const baseRoot = join(work, 'bases');
  const sdkDir = join(baseRoot, 'android-28', 'default', 'x86_64');
  await mkdir(sdkDir, { recursive: true });
  const baseImg = await systemImageOf(VENDOR_JSON.replace('zeno-2019-erofs', 'base-api28'));
  await debugfsWrite(baseImg, [`rm ${LAB_IMAGE_PATH_IN_SYSTEM}`]);
  await execa('cp', [baseImg, join(sdkDir, 'system.img')], { timeout: 30_000 });
  await writeFile(join(sdkDir, 'kernel-ranchu'), 'kernel');
  await writeFile(join(sdkDir, 'ramdisk.img'), 'ramdisk');
  await writeFile(join(sdkDir, 'vendor.img'), 'vendor');
  await writeFile(join(sdkDir, 'build.prop'), 'ro.build.version.sdk=28\n');
  await writeFile(
    join(sdkDir, 'source.properties'),
    'AndroidVersion.ApiLevel=28\nSystemImage.Abi=x86_64\nSystemImage.TagId=default\n',
  );
  const sdkBases = await findBaseImages({ baseImageDirs: [baseRoot], androidHome: undefined });
  assert.deepEqual(
    sdkBases.candidates.map((c) => [c.kind, c.name, c.apiLevel, c.abi]),
    [['sdk', join('android-28', 'default', 'x86_64'), 28, 'x86_64']],
  );

  const noEmulator = await intakeImage(zenoExt4, store, { bases: sdkBases });
  assert.equal(noEmulator.inventory.runPlan.mode, 'static-only');
  assert.match(noEmulator.inventory.runPlan.reason, /no emulator is installed here/);
  assert.match(noEmulator.inventory.runPlan.reason, /ANDROID_HOME/);

  const emulator = { abis: ['x86_64', 'x86'] };
  const real = await intakeImage(zenoExt4, store, { bases: sdkBases, emulator });
  assert.equal(real.reused, true, 'planned again from the stored entry');
  const plan = real.inventory.runPlan;
  assert.equal(plan.mode, 'transplant', plan.reason);
  assert.equal(plan.transplant?.base.launcher, 'sdk-emulator');
  const fota = plan.transplant?.moves.find((m) => m.package === 'com.zeno.fota');
  assert.ok(fota?.losses.some((l) => /re-signed with a key made for the transplant/.test(l)));
  assert.ok(
    plan.transplant?.limitations.some((l) => /arm64-v8a.*do not load on the x86_64/.test(l)),
  );

  const { image, outcome } = await carryOutTransplant(real, store, {
    catalogue: sdkBases,
    labBuildDir,
    emulator,
  });
  assert.equal(image.inventory.runPlan.mode, 'emulator', image.inventory.runPlan.reason);
  for (const file of ['kernel-ranchu', 'ramdisk.img', 'vendor.img', 'source.properties']) {
    assert.ok(image.metadata.files.includes(file), `${file} of the base is beside system.img`);
  }
  assert.equal(await readFile(join(image.dir, 'kernel-ranchu'), 'utf8'), 'kernel');
  assert.ok(
    (await ext4(image.systemImagePath, '/priv-app/ZenoAnalytics/lib/arm64/libzeno.so'))?.length,
    'native libraries move with their app',
  );
  assert.equal(
    await ext4(image.systemImagePath, LAB_IMAGE_PATH_IN_SYSTEM),
    undefined,
    'no behaviour file on an emulator transplant',
  );
  assert.ok(
    outcome.limitations.some((l) =>
      /com\.zeno\.analytics: its native libraries are for arm64/.test(l),
    ),
    outcome.limitations.join('\n'),
  );
  assert.ok(await ext4(image.systemImagePath, '/etc/permissions/privapp-permissions-zeno.xml'));
  const builtFota = image.inventory.apps.find((a) => a.package === 'com.zeno.fota');
  assert.equal(
    builtFota?.sharedUserId,
    undefined,
    'installable on the base: no system shared user',
  );
  assert.deepEqual(builtFota?.problems, []);
});

/** The system.img of a built lab image, as a file of its own. */
async function systemImageOf(jsonPath: string): Promise<string> {
  const built = await buildLabImage(jsonPath, join(work, 'out'), sharedLabBuild());
  const entry = (await execa('unzip', ['-Z1', built.zipPath], { timeout: 30_000 })).stdout
    .split('\n')
    .find((n) => n.endsWith('system.img'));
  assert.ok(entry);
  const out = join(work, `${built.name}-${Math.random().toString(36).slice(2)}.img`);
  const unzipped = await execa('unzip', ['-p', built.zipPath, entry], {
    encoding: 'buffer',
    timeout: 30_000,
  });
  await writeFile(out, unzipped.stdout);
  return out;
}

/** The vendor lab image on ext4 (the builder's default), as a JSON file of its own. */
async function ext4Variant(jsonPath: string): Promise<string> {
  const json = JSON.parse(await readFile(jsonPath, 'utf8')) as Record<string, unknown>;
  delete json['system'];
  const path = join(work, 'zeno-ext4.json');
  await writeFile(path, JSON.stringify({ ...json, name: 'zeno-ext4' }));
  return path;
}

async function debugfsWrite(image: string, commands: string[]): Promise<void> {
  const script = join(work, 'debugfs.cmd');
  await writeFile(script, `${commands.join('\n')}\n`);
  const result = await execa('debugfs', ['-w', '-f', script, image], { timeout: 30_000 });
  assert.doesNotMatch(result.stderr, /not found|error/i, result.stderr);
}
