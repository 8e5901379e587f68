import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { FRAMEWORK_RES_APK } from '../../src/image-build/lab-images/build-apk.ts';
import { manifestInfo, parseXmlTree } from '../../src/android/manifest.ts';
import {
  ManifestFormatError,
  removeManifestAttribute,
} from '../../src/image-build/transplant/manifest-rewrite.ts';

/** Compiles a manifest with aapt2 and returns the APK path (manifest only). */
async function compiled(dir: string, sharedUserId: boolean): Promise<string> {
  const source = join(dir, `m-${sharedUserId}.xml`);
  await writeFile(
    source,
    `<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="com.acme.fota"
    android:versionCode="7" android:versionName="7.0"${sharedUserId ? ' android:sharedUserId="android.uid.system"' : ''}>
  <uses-permission android:name="android.permission.REBOOT"/>
  <application android:label="Fota"/>
</manifest>
`,
  );
  const apk = join(dir, `m-${sharedUserId}.apk`);
  await execa('aapt2', ['link', '--manifest', source, '-I', FRAMEWORK_RES_APK, '-o', apk], {
    timeout: 30_000,
  });
  return apk;
}

async function manifestOf(apk: string): Promise<Buffer> {
  const { stdout } = await execa('unzip', ['-p', apk, 'AndroidManifest.xml'], {
    encoding: 'buffer',
    timeout: 10_000,
  });
  return Buffer.from(stdout);
}

test('sharedUserId is removed from a compiled manifest; everything else reads the same', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'manifest-rewrite-'));
  try {
    const withUid = await compiled(dir, true);
    const original = await manifestOf(withUid);
    const rewritten = removeManifestAttribute(original);
    assert.ok(rewritten);
    assert.equal(rewritten.length, original.length - 20);
    assert.equal(removeManifestAttribute(rewritten), undefined, 'nothing left to remove');
    assert.equal(removeManifestAttribute(await manifestOf(await compiled(dir, false))), undefined);

    // aapt reads the rewritten manifest back: same facts, no shared user.
    const apk = join(dir, 'rewritten.apk');
    await writeFile(join(dir, 'AndroidManifest.xml'), rewritten);
    await execa('zip', ['-q', '-X', apk, 'AndroidManifest.xml'], { cwd: dir, timeout: 10_000 });
    const dump = async (path: string) =>
      manifestInfo(
        parseXmlTree(
          (
            await execa('aapt', ['dump', 'xmltree', path, 'AndroidManifest.xml'], {
              timeout: 10_000,
            })
          ).stdout,
        ),
      );
    const before = await dump(withUid);
    const after = await dump(apk);
    assert.equal(before.sharedUserId, 'android.uid.system');
    assert.equal(after.sharedUserId, undefined);
    assert.deepEqual({ ...after, sharedUserId: 'x' }, { ...before, sharedUserId: 'x' });
    assert.ok((await readFile(apk)).length > 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('bytes that are no binary manifest are refused with ManifestFormatError', () => {
  assert.throws(() => removeManifestAttribute(Buffer.from('<manifest/>')), ManifestFormatError);
  const header = Buffer.alloc(16);
  header.writeUInt16LE(3, 0);
  header.writeUInt16LE(8, 2);
  header.writeUInt32LE(4096, 4);
  assert.throws(() => removeManifestAttribute(header), /its size is wrong/);
  const chunkPastEnd = Buffer.alloc(16);
  chunkPastEnd.writeUInt16LE(3, 0);
  chunkPastEnd.writeUInt16LE(8, 2);
  chunkPastEnd.writeUInt32LE(16, 4);
  chunkPastEnd.writeUInt16LE(1, 8);
  chunkPastEnd.writeUInt32LE(4096, 12);
  assert.throws(() => removeManifestAttribute(chunkPastEnd), /runs past the file/);
});
