import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { startPipelineEnv, type PipelineEnv } from '../support/pipeline-env.ts';

/** `canarytrap inspect` as a user runs it: the real CLI, a private data root, nothing queued. */

let env: PipelineEnv;

before(async () => {
  env = await startPipelineEnv();
});

after(async () => {
  await env.close();
});

function inspect(...args: string[]) {
  return execa('node', ['bin/canarytrap.js', 'inspect', ...args], {
    env: env.env,
    reject: false,
    timeout: 120_000,
  });
}

interface Inspection {
  id: string;
  reused: boolean;
  metadata: { model: string; apiLevel: number; labImageName: string };
  apps: Array<{
    package: string;
    privileged: boolean;
    platformSigned: boolean;
    sharedUserId?: string;
    bootReceivers: string[];
    hosts: string[];
    permissions: Array<{ name: string; protection: string }>;
  }>;
  findings: Array<{
    ruleId: string;
    package: string;
    evidence: Array<{ kind: string; value: string }>;
  }>;
  runPlan: { mode: string; reason: string };
}

test('inspect adups-2016 --json prints one document with the inventory, findings and plan', async () => {
  const first = await inspect('adups-2016', '--json');
  assert.equal(first.exitCode, EXIT.ok, first.stderr);
  const doc = JSON.parse(first.stdout) as Inspection;
  assert.equal(doc.reused, false);
  assert.equal(doc.metadata.labImageName, 'adups-2016');
  assert.equal(doc.metadata.apiLevel, 23);
  const fota = doc.apps.find((a) => a.package === 'com.adups.fota');
  assert.ok(fota, 'com.adups.fota is inventoried');
  assert.equal(fota.privileged, true);
  assert.equal(fota.platformSigned, true);
  assert.equal(fota.sharedUserId, 'android.uid.system');
  assert.ok(fota.bootReceivers.length > 0);
  assert.ok(fota.permissions.some((p) => p.protection === 'privileged'));
  for (const pkg of ['com.adups.fota', 'com.adups.fota.sysoper']) {
    const finding = doc.findings.find(
      (f) => f.package === pkg && f.ruleId === 'adups-fota-package',
    );
    assert.ok(finding, `${pkg} is flagged`);
    assert.ok(finding.evidence.length > 0, 'with its evidence');
  }
  assert.ok(doc.findings.some((f) => f.evidence.some((e) => e.value === 'bigdata.adups.com')));
  assert.equal(doc.runPlan.mode, 'lab-phone');

  const second = await inspect('adups-2016', '--json');
  const again = JSON.parse(second.stdout) as Inspection;
  assert.equal(again.id, doc.id);
  assert.equal(again.reused, true, 'the second inspect reuses the stored entry');
  const stored = (await readdir(join(env.config.dataRoot, 'images'))).filter(
    (n) => n !== '.partial',
  );
  assert.deepEqual(stored, [doc.id], 'stored once');
});

test('inspect clean prints a readable summary with no finding', async () => {
  const result = await inspect('clean');
  assert.equal(result.exitCode, EXIT.ok, result.stderr);
  assert.match(result.stdout, /^Findings \(0\):\n {2}none$/m);
  assert.match(result.stdout, /^Run plan: lab-phone — /m);
  assert.match(result.stdout, /^Apps \(\d+\):/m);
});

test('inspect of a file that is no image exits 3 with one line on stderr', async () => {
  const path = join(env.config.dataRoot, '..', 'notes.txt');
  await writeFile(path, 'hello, not an image\n');
  const result = await inspect(path, '--json');
  assert.equal(result.exitCode, EXIT.input);
  assert.equal(result.stdout, '');
  assert.match(result.stderr.trim(), /^canarytrap: .*not a system image/);
  assert.equal(result.stderr.trim().split('\n').length, 1);
});

test('inspect zeno-2019-erofs shows the transplant plan: base, moves, allow-list and losses', async () => {
  const result = await inspect('zeno-2019-erofs');
  assert.equal(result.exitCode, EXIT.ok, result.stderr);
  assert.match(result.stdout, /^Run plan: transplant — .*erofs.*base-api28/m);
  assert.match(result.stdout, /^ {2}base +base-api28 \(API 28, x86_64, lab\) on the lab-phone$/m);
  assert.match(
    result.stdout,
    /^ {2}move +com\.zeno\.fota {2}\/system\/priv-app\/ZenoFota\/ZenoFota\.apk -> \/system\/priv-app\/ZenoFota\/ZenoFota\.apk {2}\[allow-listed: INSTALL_PACKAGES, REBOOT\]$/m,
  );
  assert.match(result.stdout, /^ {2}stays +com\.android\.deskclock .*the base has its own/m);
  assert.match(
    result.stdout,
    /^ {2}allow-list +\/system\/etc\/permissions\/privapp-permissions-zeno\.xml$/m,
  );
  assert.match(result.stdout, /^ {2}limitation +com\.zeno\.fota: .*platform signature/m);

  const json = JSON.parse((await inspect('zeno-2019-erofs', '--json')).stdout) as Inspection & {
    runPlan: { transplant?: { base: { name: string }; moves: unknown[] } };
  };
  assert.equal(json.runPlan.mode, 'transplant');
  assert.equal(json.runPlan.transplant?.base.name, 'base-api28');
  assert.equal(json.runPlan.transplant?.moves.length, 3);
});
