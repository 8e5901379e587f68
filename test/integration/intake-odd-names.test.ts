import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { labAppSchema } from '../../src/android/lab-image.ts';
import { buildApk } from '../../src/image-build/lab-images/build-apk.ts';
import { buildLabImage } from '../../src/image-build/lab-images/build-lab-image.ts';
import { generateKey } from '../../src/image-build/lab-images/signing-keys.ts';
import { ImageStore, intakeImage } from '../../src/intake/index.ts';
import { makeExt4 } from '../fixtures/intake/inputs.ts';

/**
 * Firmware names its files and labels its apps as it likes, hostile names included. An app under
 * such a name is kept in the inventory with the oddity named, never dropped; a lab file whose
 * label Android cannot carry is refused with our own words, not aapt2's.
 */

const BUILD_PROP =
  'ro.build.fingerprint=test/odd/odd:9/T/1:user/release-keys\nro.product.manufacturer=Test\nro.product.model=Odd\nro.build.version.sdk=28\n';

/** A folder name per oddity, each holding a real, signed APK. */
const ODD_FOLDERS = {
  markup: 'x"><svg onload=alert(1)>',
  escape: 'Esc\u001b]0;owned\u0007\u001b[31m',
  lineBreak: 'Line\nBreak',
  plain: 'Plain',
} as const;

let work: string;
let apk: Buffer;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'intake-odd-names-'));
  const buildDir = join(work, 'apk');
  await mkdir(buildDir);
  const app = labAppSchema.parse({
    package: 'com.example.odd',
    // Allowed in a manifest, odd on a screen: a right-to-left override turns "exe.txt" around.
    label: 'Notes \u202etxt.exe',
    versionName: '1.0',
    versionCode: 1,
    path: '/system/app/Plain/Plain.apk',
  });
  const key = await generateKey(buildDir, 'odd', 'CN=odd');
  apk = await readFile(await buildApk({ app, sdk: 28, workDir: buildDir, key, timeoutMs: 60_000 }));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('apps under markup, escape and line-break paths are kept with the oddity named', async () => {
  const files: Record<string, string | Buffer> = { 'build.prop': BUILD_PROP };
  for (const folder of Object.values(ODD_FOLDERS)) files[`app/${folder}/${folder}.apk`] = apk;
  const image = await makeExt4(work, 'odd-names.img', files, 8);
  const stored = await intakeImage(image, new ImageStore(join(work, 'data')));
  const apps = stored.inventory.apps;
  assert.equal(
    apps.length,
    4,
    `every app kept: ${apps.map((a) => JSON.stringify(a.path)).join(', ')}`,
  );

  const byFolder = (folder: string) => {
    const found = apps.find((a) => a.path === `/system/app/${folder}/${folder}.apk`);
    assert.ok(
      found,
      `the app under ${JSON.stringify(folder)} is in the inventory: ${JSON.stringify(apps.map((a) => [a.path, a.problems]))}`,
    );
    return found;
  };
  const expectations: Array<[string, RegExp]> = [
    [ODD_FOLDERS.markup, /its path holds markup characters/],
    [ODD_FOLDERS.escape, /its path holds control characters/],
    [ODD_FOLDERS.lineBreak, /its path holds a line break/],
  ];
  for (const [folder, problem] of expectations) {
    const app = byFolder(folder);
    assert.ok(
      app.problems.some((p) => problem.test(p)),
      `${JSON.stringify(folder)}: ${app.problems.join('; ')}`,
    );
    // Read like any other app: the oddity is said, the APK still inventoried.
    assert.equal(app.package, 'com.example.odd');
    assert.ok(app.signingCertSha256, 'its signature was read');
  }
  const plain = byFolder(ODD_FOLDERS.plain);
  assert.ok(!plain.problems.some((p) => /its path holds/.test(p)), plain.problems.join('; '));
  // The label's direction override is named on every copy, the plain path's too.
  for (const app of apps) {
    assert.ok(
      app.problems.some((p) => /its label holds text-direction overrides/.test(p)),
      `${JSON.stringify(app.path)}: ${app.problems.join('; ')}`,
    );
  }
});

test('a lab app label with control characters is refused before any tool runs', async () => {
  const source = JSON.parse(await readFile('images/lab/clean.json', 'utf8')) as {
    apps: Array<{ label: string }>;
  };
  assert.ok(source.apps.length > 0, 'the clean lab image has an app to relabel');
  source.apps[0]!.label = 'Bell\u0007 and \u001b[31mred';
  const path = join(work, 'bad-label.json');
  await writeFile(path, JSON.stringify(source));
  const started = Date.now();
  await assert.rejects(buildLabImage(path, join(work, 'bad-label-out')), (error: unknown) => {
    const coded = error as { code?: string; message?: string };
    assert.equal(coded.code, 'lab-image-invalid');
    assert.match(coded.message ?? '', /apps\.0\.label: the label holds control characters/);
    assert.doesNotMatch(coded.message ?? '', /aapt/);
    return true;
  });
  assert.ok(Date.now() - started < 5_000, 'refused by the schema, not by a failed build');
});
