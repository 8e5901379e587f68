import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { ImageStore, intakeImage, type StoredImage } from '../../src/intake/index.ts';
import { buildLabImage } from '../../src/image-build/index.ts';
import {
  buildPayload,
  buildPayloadV1,
  buildSuperImage,
  buildTransferList,
  replaceOperations,
  writeBytes,
} from '../fixtures/intake/container-writers.ts';
import { makeExt4, makeZip } from '../fixtures/intake/inputs.ts';
import { sharedLabBuild } from '../support/lab-build-cache.ts';

/**
 * The adups-2016 lab image's ext4 system partition, wrapped in every container intake reads:
 * each must give the same inventory and findings as the plain ext4.
 */

let work: string;
let store: ImageStore;
let systemImg: Buffer;
let vendorImg: Buffer;
let plain: StoredImage;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'intake-containers-'));
  store = new ImageStore(join(work, 'data'));
  const built = await buildLabImage(
    'images/lab/adups-2016.json',
    join(work, 'out'),
    sharedLabBuild(),
  );
  const names = (await execa('unzip', ['-Z1', built.zipPath], { timeout: 30_000 })).stdout.split(
    '\n',
  );
  const entry = names.find((n) => n.endsWith('system.img'));
  assert.ok(entry, 'the lab zip holds a system.img');
  const unzipped = await execa('unzip', ['-p', built.zipPath, entry], {
    encoding: 'buffer',
    timeout: 30_000,
  });
  systemImg = Buffer.from(unzipped.stdout);
  vendorImg = await readFile(
    await makeExt4(work, 'vendor.img', { 'build.prop': 'ro.vendor.x=1\n' }, 1),
  );
  plain = await intakeImage(await writeBytes(join(work, 'system.img'), systemImg), store);
  assert.ok(plain.inventory.apps.length >= 2, 'the plain image has apps');
  assert.ok(plain.inventory.findings.length > 0, 'the plain image has findings');
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The wrapped image must be read exactly like the plain one. */
function assertSameAsPlain(stored: StoredImage): void {
  assert.notEqual(stored.id, plain.id, 'a different submission');
  assert.equal(stored.metadata.fingerprint, plain.metadata.fingerprint);
  assert.deepEqual(stored.inventory.apps, plain.inventory.apps);
  assert.deepEqual(stored.inventory.findings, plain.inventory.findings);
}

test('a bare payload.bin with REPLACE, REPLACE_XZ, REPLACE_BZ and ZERO operations', async () => {
  const operations = await replaceOperations(systemImg, true);
  const types = new Set(operations.map((o) => o.type));
  assert.deepEqual([...types].sort(), [0, 1, 6, 8], 'every full-replace kind is exercised');
  const payload = buildPayload([
    { name: 'system', size: systemImg.length, operations },
    {
      name: 'vendor',
      size: vendorImg.length,
      operations: await replaceOperations(vendorImg, false),
    },
  ]);
  const stored = await intakeImage(await writeBytes(join(work, 'payload.bin'), payload), store);
  assertSameAsPlain(stored);
  assert.equal(stored.metadata.sourceKind, 'payload');
  assert.ok(stored.metadata.files.includes('vendor.img'));
  assert.deepEqual(await readFile(join(stored.dir, 'system.img')), systemImg);
  assert.deepEqual(await readFile(join(stored.dir, 'vendor.img')), vendorImg);
});

test('a payload.bin of format version 1 (no signature size, root filesystem operations) is read as system', async () => {
  const payload = buildPayloadV1({
    size: systemImg.length,
    operations: await replaceOperations(systemImg, false),
  });
  assert.equal(payload.readBigUInt64BE(4), 1n);
  const stored = await intakeImage(await writeBytes(join(work, 'payload-v1.bin'), payload), store);
  assertSameAsPlain(stored);
  assert.equal(stored.metadata.sourceKind, 'payload');
  assert.deepEqual(await readFile(join(stored.dir, 'system.img')), systemImg);
});

test('an A/B OTA zip holding payload.bin', async () => {
  const payload = buildPayload([
    {
      name: 'system',
      size: systemImg.length,
      operations: await replaceOperations(systemImg, false),
    },
  ]);
  const zip = await makeZip(join(work, 'ota-ab.zip'), [
    { name: 'META-INF/com/android/metadata', data: Buffer.from('ota-type=AB\n') },
    { name: 'payload.bin', data: payload, compress: false },
    { name: 'payload_properties.txt', data: Buffer.from('FILE_SIZE=1\n') },
  ]);
  const stored = await intakeImage(zip, store);
  assertSameAsPlain(stored);
  assert.equal(stored.metadata.sourceKind, 'zip');
});

test('non-A/B OTA zips: system.new.dat.br and system.new.dat with a version 4 transfer list', async () => {
  const { list, newDat, brotli } = buildTransferList(systemImg);
  assert.match(list, /^zero /m, 'zero blocks are exercised');
  for (const [name, data] of [
    ['system.new.dat.br', brotli],
    ['system.new.dat', newDat],
  ] as const) {
    const zip = await makeZip(join(work, `ota-${name}.zip`), [
      { name: 'system.transfer.list', data: Buffer.from(list) },
      { name, data },
      { name: 'boot.img', data: Buffer.from('ANDROID!') },
    ]);
    const stored = await intakeImage(zip, store);
    assertSameAsPlain(stored);
    assert.deepEqual(await readFile(join(stored.dir, 'system.img')), systemImg);
  }
});

test('super.img with slotted dynamic partitions, raw, sparse and inside a factory zip', async () => {
  const superImg = buildSuperImage([
    { name: 'system_a', image: systemImg },
    { name: 'system_b', image: undefined },
    { name: 'vendor_a', image: vendorImg },
  ]);
  const raw = await writeBytes(join(work, 'super.img'), superImg);
  const stored = await intakeImage(raw, store);
  assertSameAsPlain(stored);
  assert.equal(stored.metadata.sourceKind, 'super');
  assert.deepEqual(await readFile(join(stored.dir, 'vendor.img')), vendorImg);

  const sparse = join(work, 'super.simg');
  await execa('img2simg', [raw, sparse], { timeout: 30_000 });
  assertSameAsPlain(await intakeImage(sparse, store));

  const factory = await makeZip(join(work, 'factory.zip'), [
    { name: 'device-factory/super.img', data: await readFile(sparse) },
    { name: 'device-factory/boot.img', data: Buffer.from('ANDROID!') },
  ]);
  assertSameAsPlain(await intakeImage(factory, store));
});

test('super.img spread over two block devices reads the second from super_<device>.img in the zip', async () => {
  const sectors = BigInt(systemImg.length / 512);
  const half = sectors / 2n;
  // The first half of system on super itself, the second at sector 8 of the other device.
  const superImg = buildSuperImage(
    [
      { name: 'vendor', image: vendorImg },
      {
        name: 'system',
        image: undefined,
        extents: [
          { sectors: half, target: BigInt(1024 * 1024 + vendorImg.length) / 512n, source: 0 },
          { sectors: sectors - half, target: 8n, source: 1 },
        ],
      },
    ],
    ['system_dev'],
  );
  const withHalf = Buffer.concat([superImg, systemImg.subarray(0, Number(half) * 512)]);
  const device = Buffer.concat([Buffer.alloc(8 * 512), systemImg.subarray(Number(half) * 512)]);
  const rawDevice = await writeBytes(join(work, 'super_system_dev.raw'), device);
  const sparseDevice = join(work, 'super_system_dev.simg');
  await execa('img2simg', [rawDevice, sparseDevice], { timeout: 30_000 });
  for (const deviceBytes of [device, await readFile(sparseDevice)]) {
    const zip = await makeZip(join(work, `factory-split-${deviceBytes.length}.zip`), [
      { name: 'factory/super.img', data: withHalf },
      { name: 'factory/super_system_dev.img', data: deviceBytes },
    ]);
    const stored = await intakeImage(zip, store);
    assertSameAsPlain(stored);
    assert.deepEqual(await readFile(join(stored.dir, 'system.img')), systemImg);
  }
});

test('an erofs system partition is read by extraction and never planned for the lab phone', async (t) => {
  const tree = join(work, 'erofs-tree');
  await mkdir(tree);
  const plainPath = join(work, 'system.img');
  await execa('debugfs', ['-R', `rdump / ${tree}`, plainPath], { timeout: 30_000 });
  const erofs = join(work, 'system.erofs');
  const made = await execa('mkfs.erofs', [erofs, tree], { timeout: 30_000, reject: false });
  if (made.exitCode !== 0) {
    t.skip(`mkfs.erofs failed here: ${made.stderr}`);
    return;
  }
  const stored = await intakeImage(erofs, store);
  assertSameAsPlain(stored);
  assert.equal(stored.metadata.sourceKind, 'erofs');
  assert.equal(stored.metadata.filesystem, 'erofs');
  assert.equal(stored.metadata.labImageName, 'adups-2016');
  assert.equal(stored.metadata.labImage, false, 'the lab phone would not read it');
  assert.equal(plain.inventory.runPlan.mode, 'lab-phone');
  assert.equal(stored.inventory.runPlan.mode, 'static-only');
  assert.match(stored.inventory.runPlan.reason, /erofs, which the lab phone cannot read/);
});
