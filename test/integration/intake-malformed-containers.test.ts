import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import type { IntakeOptions } from '../../src/intake/index.ts';
import { buildSuperImage } from '../fixtures/intake/container-writers.ts';
import { makeZip } from '../fixtures/intake/inputs.ts';
import { openMalformedWorkspace, type MalformedWorkspace } from '../fixtures/intake/reject.ts';

/**
 * Malformed super.img, erofs partitions, directories and zips: each ends in a clear error code
 * within bounded time, leaving nothing in the store. OTA packages: intake-malformed-ota.
 */

let ws: MalformedWorkspace;

before(async () => {
  ws = await openMalformedWorkspace('intake-malformed-containers-');
});

after(() => ws.close());

const file = (name: string, bytes: Buffer | string) => ws.file(name, bytes);
const expectRejected = (input: string, code: string, options?: IntakeOptions) =>
  ws.rejects(input, code, options);

// ---- super.img ----

test('super.img with a bad metadata magic or a damaged table checksum is super-invalid', async () => {
  const good = buildSuperImage([{ name: 'system', image: ws.ext4 }]);
  const badMagic = Buffer.from(good);
  badMagic.writeUInt32LE(0x12345678, 12288);
  assert.match(
    await expectRejected(await file('super.img', badMagic), 'super-invalid'),
    /header magic/,
  );
  const badTables = Buffer.from(good);
  badTables.writeUInt8(badTables.readUInt8(12288 + 128) ^ 0xff, 12288 + 128);
  assert.match(
    await expectRejected(await file('super.img', badTables), 'super-invalid'),
    /checksum/,
  );
});

test('super.img extents beyond the file, a 10 GB partition, a second block device', async () => {
  const beyond = buildSuperImage([
    { name: 'system', image: ws.ext4, extents: [{ sectors: 8192n, target: 1n << 30n }] },
  ]);
  assert.match(
    await expectRejected(await file('super.img', beyond), 'super-invalid'),
    /past the end/,
  );
  const tenGb = buildSuperImage([
    { name: 'system', image: ws.ext4, extents: [{ sectors: (10n << 30n) / 512n, target: 2048n }] },
  ]);
  await expectRejected(await file('super.img', tenGb), 'super-invalid');
  assert.match(
    await expectRejected(await file('super.img', tenGb), 'super-invalid', {
      maxImageBytes: 1 << 30,
    }),
    /above the limit/,
  );
  const second = buildSuperImage([
    { name: 'system', image: ws.ext4, extents: [{ sectors: 8n, target: 2048n, source: 1 }] },
  ]);
  assert.match(
    await expectRejected(await file('super.img', second), 'super-invalid'),
    /block device #1, which its metadata does not list/,
  );
});

test('super.img whose system lives on another block device, submitted without its image, names the file it needs', async () => {
  const split = buildSuperImage(
    [{ name: 'system', image: ws.ext4, extents: [{ sectors: 8n, target: 0n, source: 1 }] }],
    ['system_dev'],
  );
  assert.match(
    await expectRejected(await file('super.img', split), 'super-device-missing'),
    /block device "system_dev" \(#1\), and its image super_system_dev\.img is not beside super\.img/,
  );
});

test('super.img without a system partition is image-no-system', async () => {
  const vendorOnly = buildSuperImage([{ name: 'vendor_a', image: ws.ext4 }]);
  await expectRejected(await file('super.img', vendorOnly), 'image-no-system');
});

// ---- erofs, directories, zips ----

async function makeErofs(files: Record<string, string>, links: Record<string, string> = {}) {
  const tree = await ws.path('tree');
  await mkdir(tree);
  for (const [name, content] of Object.entries(files)) await writeFile(join(tree, name), content);
  for (const [name, target] of Object.entries(links)) await symlink(target, join(tree, name));
  const image = await ws.path('system.erofs');
  await execa('mkfs.erofs', [image, tree], { timeout: 30_000 });
  return image;
}

test('a truncated or damaged erofs image is erofs-invalid', async () => {
  const image = await makeErofs({ 'build.prop': ws.buildProp, 'big.bin': 'x'.repeat(64 * 1024) });
  const bytes = await readFile(image);
  const cut = await file('cut.erofs', bytes);
  await truncate(cut, 8192);
  assert.match(await expectRejected(cut, 'erofs-invalid'), /declares/);
  const damaged = Buffer.from(bytes);
  damaged.writeUInt16LE(0xffff, 1024 + 14); // root inode number far outside the image
  await expectRejected(await file('damaged.erofs', damaged), 'erofs-invalid');
});

test('an erofs that expands past the extraction limit is erofs-too-large', async () => {
  const image = await makeErofs({ 'build.prop': ws.buildProp, 'big.bin': 'y'.repeat(8 << 20) });
  await expectRejected(image, 'erofs-too-large', { zipLimits: { maxTotalBytes: 2 << 20 } });
});

test('an erofs whose build.prop links outside the image is image-no-build-prop', async () => {
  const image = await makeErofs({ 'x.txt': 'x' }, { 'build.prop': '/etc/hostname' });
  await expectRejected(image, 'image-no-build-prop');
});

test('a symbolic link in a submitted directory is never followed', async () => {
  const dir = await ws.path('submitted');
  await mkdir(dir);
  const outside = await file('system.img', ws.ext4);
  await symlink(outside, join(dir, 'system.img'));
  await expectRejected(dir, 'image-no-system');
});

test('a zero-byte system.img inside a zip is image-empty', async () => {
  const zip = await makeZip(join(ws.work, 'zero.zip'), [
    { name: 'x86_64/system.img', data: Buffer.alloc(0) },
    { name: 'x86_64/build.prop', data: Buffer.from(ws.buildProp) },
  ]);
  await expectRejected(zip, 'image-empty');
});
