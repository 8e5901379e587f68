import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractSystem, loadLabImage } from '../../src/lab/os/index.ts';
import { isCanarytrapError } from '../../src/errors.ts';
import { buildSystemImage } from '../support/lab-process.ts';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lab-os-image-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Builds system.img from a staging tree with the real mke2fs. */
async function expectInvalid(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isCanarytrapError(error));
    assert.equal(error.code, 'lab-image-invalid');
    assert.match(error.message, pattern);
    return true;
  });
}

test('a lab image is read out of system.img with debugfs, and the tree extracted', async (t) => {
  const dir = await tempDir(t);
  const labImage = await readFile('images/lab/clean.json', 'utf8');
  const imageDir = await buildSystemImage(dir, {
    'build.prop': '# comment\nro.build.display.id=CLEAN_1\nro.product.model=Lab\n',
    'etc/canarytrap/lab-image.json': labImage,
    'priv-app/Demo/Demo.apk': 'not really an apk',
  });
  const loaded = await loadLabImage(imageDir);
  assert.equal(loaded.image.name, (JSON.parse(labImage) as { name: string }).name);
  assert.equal(loaded.buildProp['ro.build.display.id'], 'CLEAN_1');
  const out = join(dir, 'out');
  await mkdir(out);
  await extractSystem(imageDir, out);
  assert.equal(await readFile(join(out, 'priv-app/Demo/Demo.apk'), 'utf8'), 'not really an apk');
});

test('bad images fail with lab-image-invalid saying what is wrong', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'empty'));
  await expectInvalid(loadLabImage(join(dir, 'empty')), /no system\.img/);
  await mkdir(join(dir, 'junk'));
  await writeFile(join(dir, 'junk', 'system.img'), Buffer.alloc(70_000, 7));
  await expectInvalid(loadLabImage(join(dir, 'junk')), /not an ext4 file system/);
  const noLab = await buildSystemImage(join(dir, 'a'), { 'build.prop': 'ro.x=1\n' });
  await expectInvalid(loadLabImage(noLab), /has no \/etc\/canarytrap\/lab-image\.json/);
  const badLab = await buildSystemImage(join(dir, 'b'), {
    'build.prop': 'ro.x=1\n',
    'etc/canarytrap/lab-image.json': '{"version":1,"name":"X"}',
  });
  await expectInvalid(loadLabImage(badLab), /does not match the lab image schema/);
});
