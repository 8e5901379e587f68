import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { ImageStore, intakeImage, sniffImage, type IntakeOptions } from '../../src/intake/index.ts';
import {
  duplicateFirstEntry,
  makeExt4,
  makeZip,
  patchBytes,
  patchDeclaredSize,
} from '../fixtures/intake/inputs.ts';
import { rejectsCleanly } from '../fixtures/intake/reject.ts';

let work: string;
let validExt4: string;
let validZipBytes: Buffer;
const BUILD_PROP =
  'ro.build.fingerprint=test/test/test:6.0/T/1:user/release-keys\nro.product.manufacturer=Test\nro.product.model=T1\n';

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'intake-malformed-'));
  validExt4 = await makeExt4(work, 'valid.img', { 'build.prop': BUILD_PROP });
  const zipPath = await makeZip(join(work, 'valid.zip'), [
    { name: 'x86_64/system.img', data: await readFile(validExt4) },
    { name: 'x86_64/build.prop', data: Buffer.from(BUILD_PROP) },
  ]);
  validZipBytes = await readFile(zipPath);
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Runs intake on a fresh store and checks the error code, the time, and that the store is empty. */
async function expectRejected(
  input: string,
  code: string,
  options: IntakeOptions = {},
): Promise<void> {
  await rejectsCleanly(work, input, code, options);
}

async function file(name: string, bytes: Buffer): Promise<string> {
  const path = join(work, name);
  await writeFile(path, bytes);
  return path;
}

test('a missing path is image-not-found, also when sniffed', async () => {
  const missing = join(work, 'does-not-exist.img');
  await expectRejected(missing, 'image-not-found');
  await assert.rejects(sniffImage(missing), { code: 'image-not-found' });
});

test('an empty file is image-empty', async () => {
  await expectRejected(await file('empty.img', Buffer.alloc(0)), 'image-empty');
});

test('1 MiB of random bytes is image-unrecognised, saying what it looks like and echoing none of it', async () => {
  const bytes = randomBytes(1024 * 1024);
  bytes[0] = 0x3f; // never a zip, sparse or ext4 magic
  const path = await file('random.bin', bytes);
  await expectRejected(path, 'image-unrecognised');
  await assert.rejects(sniffImage(path), (error: Error) => {
    assert.match(error.message, /binary data of no image format/);
    assert.doesNotMatch(error.message, /3f|first bytes/i);
    return true;
  });
  // A secret-looking text file in an allowed root: its words never come back in the error.
  const text = await file('secret.txt', Buffer.from('root:x:0:0:hunter2-secret\n'.repeat(50)));
  await assert.rejects(sniffImage(text), (error: Error) => {
    assert.match(error.message, /text, not an image/);
    assert.doesNotMatch(error.message, /root:x|hunter2/);
    return true;
  });
});

test('zip entries escaping their directory are refused by name before extraction', async () => {
  const zip = await makeZip(join(work, 'escape-src.zip'), [
    { name: 'x86_64/system.img', data: await readFile(validExt4) },
    { name: 'aa/aa/evil.sh', data: Buffer.from('#!/bin/sh\n') },
  ]);
  const dotdot = await file(
    'dotdot.zip',
    patchBytes(await readFile(zip), 'aa/aa/evil.sh', '../../evil.sh'),
  );
  await expectRejected(dotdot, 'zip-entry-escapes');
  await assert.rejects(
    intakeImage(dotdot, new ImageStore(await mkdtemp(join(work, 'd-')))),
    (error: Error) => error.message.includes('../../evil.sh'),
  );
  const absolute = await file(
    'absolute.zip',
    patchBytes(await readFile(zip), 'aa/aa/evil.sh', '/tmp/evil.sh'.padEnd(13, 'x')),
  );
  await expectRejected(absolute, 'zip-entry-escapes');
  const backslash = await file(
    'backslash.zip',
    patchBytes(await readFile(zip), 'aa/aa/evil.sh', '..\\..\\evil.s'.padEnd(13, 'h')),
  );
  await expectRejected(backslash, 'zip-entry-escapes');
});

test('a symbolic link entry is refused', async () => {
  const zip = await makeZip(join(work, 'symlink.zip'), [
    { name: 'x86_64/system.img', data: await readFile(validExt4) },
    { name: 'x86_64/link', data: Buffer.from('/etc/passwd'), mode: 0o120777 },
  ]);
  await expectRejected(zip, 'zip-entry-escapes');
});

test('a truncated zip is zip-corrupt', async () => {
  const path = await file(
    'truncated.zip',
    validZipBytes.subarray(0, Math.floor(validZipBytes.length / 2)),
  );
  await expectRejected(path, 'zip-corrupt');
});

test('a CRC mismatch in the last entry leaves nothing half-written', async () => {
  const zip = await makeZip(join(work, 'crc-src.zip'), [
    { name: 'x86_64/system.img', data: await readFile(validExt4), compress: false },
    {
      name: 'x86_64/kernel-ranchu',
      data: Buffer.from('KERNEL-BYTES-KERNEL-BYTES'),
      compress: false,
    },
  ]);
  await expectRejected(
    await file(
      'crc.zip',
      patchBytes(await readFile(zip), 'KERNEL-BYTES-KERNEL', 'KERNEL-BYTES-KERNEX'),
    ),
    'zip-corrupt',
  );
});

test('zip bombs: a 200 MB entry that compresses small, with default and small limits', async () => {
  const bomb = await makeZip(join(work, 'bomb.zip'), [
    { name: 'x86_64/system.img', data: { zeros: 200 * 1024 * 1024 } },
  ]);
  await expectRejected(bomb, 'zip-bomb');
  await expectRejected(bomb, 'zip-bomb', {
    zipLimits: { maxTotalBytes: 1024 * 1024, maxRatio: 1e9 },
  });
});

test('a zip declaring a 4 GB entry in a few bytes is zip-bomb', async () => {
  await expectRejected(
    await file('declared.zip', patchDeclaredSize(validZipBytes, 0xfffffff0)),
    'zip-bomb',
  );
});

test('two entries sharing one piece of data are zip-bomb', async () => {
  await expectRejected(
    await file('overlap.zip', duplicateFirstEntry(validZipBytes, 'x86_64/system.im2')),
    'zip-bomb',
  );
});

test('a zip or a directory without system.img is image-no-system', async () => {
  const zip = await makeZip(join(work, 'nosystem.zip'), [
    { name: 'x86_64/vendor.img', data: Buffer.from('v') },
  ]);
  await expectRejected(zip, 'image-no-system');
  const dir = join(work, 'nosystem-dir');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'kernel-ranchu'), 'k');
  await expectRejected(dir, 'image-no-system');
});

test('a truncated ext4 image is ext4-invalid', async () => {
  const path = join(work, 'truncated.img');
  await writeFile(path, await readFile(validExt4));
  await truncate(path, 2 * 1024 * 1024);
  await expectRejected(path, 'ext4-invalid');
});

test('an ext4 image without build.prop is image-no-build-prop', async () => {
  await expectRejected(
    await makeExt4(work, 'noprop.img', { 'etc/hosts': '127.0.0.1 localhost\n' }),
    'image-no-build-prop',
  );
});

test('sparse images whose chunks lie about their sizes are sparse-invalid', async () => {
  const sparse = join(work, 'valid.simg');
  await execa('img2simg', [validExt4, sparse], { timeout: 30_000 });
  const bytes = await readFile(sparse);
  const headerSize = bytes.readUInt16LE(8);

  const lyingChunk = Buffer.from(bytes);
  lyingChunk.writeUInt32LE(lyingChunk.readUInt32LE(headerSize + 8) + 4096, headerSize + 8);
  await expectRejected(await file('lying-chunk.simg', lyingChunk), 'sparse-invalid');

  const lyingTotal = Buffer.from(bytes);
  lyingTotal.writeUInt32LE(0xfffffff, 16); // ~1 TB of output from a few KiB
  await expectRejected(await file('lying-total.simg', lyingTotal), 'sparse-invalid');

  await expectRejected(
    await file('cut.simg', bytes.subarray(0, Math.floor(bytes.length / 2))),
    'sparse-invalid',
  );
});
