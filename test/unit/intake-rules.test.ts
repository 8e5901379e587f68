import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  evaluateIndicators,
  explainRule,
  glob,
  loadIndicatorRules,
} from '../../src/intake/indicators.ts';
import type { InventoryApp } from '../../src/intake/inventory/types.ts';
import { planRun } from '../../src/intake/run-plan.ts';
import { inventoryApp } from '../support/inventory-app.ts';

function app(overrides: Partial<InventoryApp>): InventoryApp {
  return inventoryApp(overrides);
}

test('globs match whole names, case-insensitively, with * only', () => {
  assert.ok(glob('com.adups.fota*', 'com.adups.fota.sysoper'));
  assert.ok(glob('*.adups.com', 'BIGDATA.adups.com'));
  assert.ok(!glob('*.adups.com', 'adups.com.evil.org'));
  assert.ok(!glob('com.adups.fota', 'comXadups.fota'));
});

test('the shipped rules load, explain themselves, and cite evidence', async () => {
  const rules = await loadIndicatorRules();
  assert.ok(rules.rules.length > 0);
  for (const rule of rules.rules) assert.ok(explainRule(rule).length > 10);
  const findings = evaluateIndicators(rules, [
    app({
      package: 'com.vendor.sync',
      permissions: [
        { name: 'android.permission.READ_SMS', protection: 'dangerous' },
        { name: 'android.permission.INTERNET', protection: 'normal' },
      ],
      urls: ['https://rebootv5.adsunflower.com/rs/cmd/poll'],
      hosts: ['rebootv5.adsunflower.com'],
    }),
    app({
      package: 'com.android.deskclock',
      permissions: [{ name: 'android.permission.INTERNET', protection: 'normal' }],
    }),
  ]);
  assert.ok(findings.every((f) => f.package === 'com.vendor.sync'));
  const hostFinding = findings.find((f) => f.evidence.some((e) => e.kind === 'host'));
  assert.deepEqual(
    hostFinding?.evidence.map((e) => e.value),
    ['rebootv5.adsunflower.com', 'https://rebootv5.adsunflower.com/rs/cmd/poll'],
  );
  assert.ok(
    findings.some((f) => f.evidence.some((e) => e.value === 'android.permission.READ_SMS')),
  );
});

test('the run plan says how and why', () => {
  const bootable = {
    labImage: false,
    filesystem: 'ext4' as const,
    files: ['system.img', 'kernel-ranchu', 'ramdisk.img'],
    abis: ['x86_64'],
  };
  assert.equal(planRun({ ...bootable, labImage: true }, undefined).mode, 'lab-phone');
  assert.equal(planRun(bootable, { abis: ['x86_64', 'x86'] }).mode, 'emulator');
  const noEmulator = planRun(bootable, undefined);
  assert.equal(noEmulator.mode, 'static-only');
  assert.match(noEmulator.reason, /ANDROID_HOME/);
  assert.match(
    planRun({ ...bootable, abis: ['arm64-v8a'] }, { abis: ['x86_64'] }).reason,
    /arm64-v8a/,
  );
  assert.match(
    planRun({ ...bootable, files: ['system.img'] }, { abis: ['x86_64'] }).reason,
    /kernel.*ramdisk/,
  );
  const erofsLab = planRun({ ...bootable, labImage: true, filesystem: 'erofs' }, undefined);
  assert.equal(erofsLab.mode, 'static-only');
  assert.match(erofsLab.reason, /erofs.*lab phone cannot read/);
});
