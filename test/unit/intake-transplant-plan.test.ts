import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import {
  planTransplant,
  type InventoryApp,
  type RunPlan,
  type TransplantVendor,
} from '../../src/intake/index.ts';
import { allowListPath, allowListXml, type BaseCandidate } from '../../src/image-build/index.ts';
import { vendorSlug } from '../../src/image-build/transplant/allow-list.ts';

const NOT_BOOTABLE: RunPlan = {
  mode: 'static-only',
  reason: 'not emulator-bootable: the image has no kernel (kernel-ranchu) and no ramdisk.img',
};

function app(pkg: string, path: string, extra: Partial<InventoryApp> = {}): InventoryApp {
  return {
    package: pkg,
    label: undefined,
    versionName: '1',
    versionCode: 1,
    path,
    privileged: path.startsWith('/system/priv-app/'),
    sharedUserId: undefined,
    systemUid: false,
    permissions: [],
    bootReceivers: [],
    exportedComponents: [],
    signingCertSha256: 'a'.repeat(64),
    platformSigned: false,
    urls: [],
    hosts: [],
    problems: [],
    ...extra,
  };
}

function vendor(apps: InventoryApp[], extra: Partial<TransplantVendor> = {}): TransplantVendor {
  return {
    apiLevel: 30,
    abis: ['arm64-v8a', 'armeabi-v7a'],
    manufacturer: 'Acme Phones',
    labBehaviour: false,
    apps,
    ...extra,
  };
}

function sdk(tag: string, abi: string, api = 30): BaseCandidate {
  return {
    kind: 'sdk',
    name: `system-images;android-${api};${tag};${abi}`,
    apiLevel: api,
    abi,
    source: `/sdk/system-images/android-${api}/${tag}/${abi}`,
  };
}

const noApps = async () => [];

test('an image bootable as it is keeps its plan', async () => {
  const asIs: RunPlan = { mode: 'lab-phone', reason: 'a lab image' };
  const plan = await planTransplant(
    vendor([]),
    asIs,
    { candidates: [sdk('default', 'x86_64')], searched: [] },
    { abis: ['x86_64'] },
    noApps,
  );
  assert.equal(plan, asIs);
});

test('the plainest emulator image of the host ABI is chosen; the base has to match the API level', async () => {
  const candidates = [
    sdk('google_apis', 'x86_64'),
    sdk('default', 'x86'),
    sdk('default', 'x86_64'),
    sdk('default', 'x86_64', 29),
  ];
  const plan = await planTransplant(
    vendor([app('com.acme.sync', '/system/app/Sync/Sync.apk')]),
    NOT_BOOTABLE,
    { candidates, searched: ['ANDROID_HOME'] },
    { abis: ['x86_64', 'x86'] },
    noApps,
  );
  assert.equal(plan.mode, 'transplant');
  assert.equal(plan.transplant?.base.name, 'system-images;android-30;default;x86_64');
  assert.equal(plan.transplant?.base.launcher, 'sdk-emulator');
  assert.match(plan.reason, /^not emulator-bootable: .*; so its 1 vendor app is moved onto/);
  assert.ok(
    plan.transplant?.limitations.some((l) => /arm64-v8a, armeabi-v7a; native libraries/.test(l)),
  );
});

test('no base: the reason names the API level, the ABI and how to supply one', async () => {
  const apps = [app('com.acme.sync', '/system/app/Sync/Sync.apk')];
  const armOnly = await planTransplant(
    vendor(apps),
    NOT_BOOTABLE,
    { candidates: [sdk('default', 'arm64-v8a')], searched: ['ANDROID_HOME'] },
    { abis: ['x86_64', 'x86'] },
    noApps,
  );
  assert.equal(armOnly.mode, 'static-only');
  assert.match(armOnly.reason, /images of API 30 here are for arm64-v8a/);
  assert.match(armOnly.reason, /runs x86_64, x86/);
  assert.match(armOnly.reason, /sdkmanager "system-images;android-30;default;x86_64"/);
  assert.match(armOnly.reason, /only the static findings apply$/);

  const otherApi = await planTransplant(
    vendor(apps),
    NOT_BOOTABLE,
    { candidates: [sdk('default', 'x86_64', 33)], searched: ['the SDK'] },
    { abis: ['x86_64'] },
    noApps,
  );
  assert.match(otherApi.reason, /no emulator system image of API 30 \(searched the SDK; found: /);
  assert.match(otherApi.reason, /android-33;default;x86_64 \(API 33, x86_64\)/);

  const noEmulator = await planTransplant(
    vendor(apps),
    NOT_BOOTABLE,
    { candidates: [sdk('default', 'x86_64')], searched: [] },
    undefined,
    noApps,
  );
  assert.match(noEmulator.reason, /no emulator is installed here \(set ANDROID_HOME/);

  const noApi = await planTransplant(
    vendor(apps, { apiLevel: undefined }),
    NOT_BOOTABLE,
    { candidates: [sdk('default', 'x86_64')], searched: [] },
    { abis: ['x86_64'] },
    noApps,
  );
  assert.match(noApi.reason, /no ro\.build\.version\.sdk/);
});

test('lab behaviour needs a lab base; apps the base has stay; a taken directory gets another', async () => {
  const lab: BaseCandidate = {
    kind: 'lab',
    name: 'base-api30',
    apiLevel: 30,
    abi: 'x86_64',
    source: '/images/lab/base-api30.json',
    apps: [
      { package: 'com.android.deskclock', path: '/system/app/DeskClock/DeskClock.apk' },
      { package: 'com.android.browser', path: '/system/app/Browser/Browser.apk' },
    ],
  };
  const apps = [
    app('com.android.deskclock', '/system/app/DeskClock/DeskClock.apk'),
    app('com.acme.browser', '/system/app/Browser/Browser.apk'),
    app('com.acme.flat', '/system/priv-app/AcmeFlat.apk', {
      permissions: [
        { name: 'android.permission.REBOOT', protection: 'privileged' },
        { name: 'android.permission.READ_SMS', protection: 'dangerous' },
      ],
    }),
  ];
  const sdkOnly = await planTransplant(
    vendor(apps, { labBehaviour: true }),
    NOT_BOOTABLE,
    { candidates: [sdk('default', 'x86_64')], searched: ['the bundled lab bases'] },
    { abis: ['x86_64'] },
    noApps,
  );
  assert.equal(sdkOnly.mode, 'static-only');
  assert.match(sdkOnly.reason, /no lab base image of API 30.*lab bases found: none/);

  const plan = await planTransplant(
    vendor(apps, { labBehaviour: true }),
    NOT_BOOTABLE,
    { candidates: [lab], searched: [] },
    undefined,
    async (base) => base.apps ?? [],
  );
  assert.equal(plan.mode, 'transplant');
  assert.deepEqual(
    plan.transplant?.moves.map((m) => [m.package, m.to, m.privilegedPermissions]),
    [
      ['com.acme.browser', '/system/app/Browser-2/Browser.apk', []],
      ['com.acme.flat', '/system/priv-app/AcmeFlat/AcmeFlat.apk', ['android.permission.REBOOT']],
    ],
  );
  assert.deepEqual(
    plan.transplant?.skipped.map((s) => s.package),
    ['com.android.deskclock'],
  );
  assert.equal(
    plan.transplant?.allowList.path,
    '/system/etc/permissions/privapp-permissions-acme-phones.xml',
  );

  const nothingNew = await planTransplant(
    vendor([apps[0] as InventoryApp], { labBehaviour: true }),
    NOT_BOOTABLE,
    { candidates: [lab], searched: [] },
    undefined,
    async (base) => base.apps ?? [],
  );
  assert.equal(nothingNew.mode, 'static-only');
  assert.match(nothingNew.reason, /every pre-installed app of the image is also on the base/);
});

test('the allow-list is the XML Android reads from /system/etc/permissions', () => {
  assert.equal(
    allowListXml([
      { package: 'com.acme.a', permissions: ['android.permission.REBOOT'] },
      { package: 'com.acme.b&c', permissions: [] },
    ]),
    [
      '<?xml version="1.0" encoding="utf-8"?>',
      '<permissions>',
      '    <privapp-permissions package="com.acme.a">',
      '        <permission name="android.permission.REBOOT"/>',
      '    </privapp-permissions>',
      '    <privapp-permissions package="com.acme.b&amp;c">',
      '    </privapp-permissions>',
      '</permissions>',
      '',
    ].join('\n'),
  );
  assert.equal(vendorSlug('  BLU '), 'blu');
  assert.equal(vendorSlug(undefined), 'vendor');
  assert.equal(allowListPath('Xiaomi'), '/system/etc/permissions/privapp-permissions-xiaomi.xml');
});

test('CANARYTRAP_BASE_IMAGES lists directories of base images', () => {
  const config = loadConfig({ CANARYTRAP_BASE_IMAGES: 'bases:/srv/more-bases:' }, '/work');
  assert.deepEqual(config.baseImageDirs, ['/work/bases', '/srv/more-bases']);
  assert.deepEqual(loadConfig({}, '/work').baseImageDirs, []);
});
