import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { brotliCompressSync, constants as zlibConstants } from 'node:zlib';
import type { IntakeOptions } from '../../src/intake/index.ts';
import {
  buildPayload,
  OP,
  protoBytes,
  protoVarint,
  replaceOperations,
  type PayloadPartition,
} from '../fixtures/intake/container-writers.ts';
import { makeZip } from '../fixtures/intake/inputs.ts';
import { openMalformedWorkspace, type MalformedWorkspace } from '../fixtures/intake/reject.ts';

/**
 * Malformed OTA packages (A/B payload.bin, non-A/B transfer lists): each ends in a clear error
 * code within bounded time, leaving nothing in the store.
 */

let ws: MalformedWorkspace;
let systemPartition: PayloadPartition;

before(async () => {
  ws = await openMalformedWorkspace('intake-malformed-ota-');
  systemPartition = {
    name: 'system',
    size: ws.ext4.length,
    operations: await replaceOperations(ws.ext4, false),
  };
});

after(() => ws.close());

const file = (name: string, bytes: Buffer | string) => ws.file(name, bytes);
const expectRejected = (input: string, code: string, options?: IntakeOptions) =>
  ws.rejects(input, code, options);

// ---- payload.bin ----

test('a payload.bin with a wrong magic inside an OTA zip is payload-invalid', async () => {
  const payload = buildPayload([systemPartition]);
  payload.write('CrAX', 0, 'latin1');
  const zip = await makeZip(join(ws.work, 'badmagic.zip'), [
    { name: 'payload.bin', data: payload },
  ]);
  assert.match(await expectRejected(zip, 'payload-invalid'), /wrong magic/);
});

test('payload.bin headers that lie: format version 3, a 1 TB manifest, a manifest past the end', async () => {
  const v3 = buildPayload([systemPartition]);
  v3.writeBigUInt64BE(3n, 4);
  assert.match(
    await expectRejected(await file('payload.bin', v3), 'payload-invalid'),
    /version 3 is neither 1 nor 2/,
  );
  // A version 2 payload relabelled 1: its signature-size field is read as manifest bytes.
  const relabelled = buildPayload([systemPartition]);
  relabelled.writeBigUInt64BE(1n, 4);
  await expectRejected(await file('payload.bin', relabelled), 'payload-invalid');
  const huge = buildPayload([systemPartition]);
  huge.writeBigUInt64BE(1n << 40n, 12);
  assert.match(await expectRejected(await file('payload.bin', huge), 'payload-invalid'), /limit/);
  const cut = buildPayload([systemPartition]).subarray(0, 60);
  await expectRejected(await file('payload.bin', cut), 'payload-invalid');
});

test('a payload whose manifest is not valid protobuf is payload-invalid', async () => {
  const payload = buildPayload([systemPartition]);
  const manifestSize = Number(payload.readBigUInt64BE(12));
  payload.fill(0xff, 24, 24 + Math.min(12, manifestSize)); // an endless varint
  assert.match(
    await expectRejected(await file('payload.bin', payload), 'payload-invalid'),
    /damaged/,
  );
});

test('payload operations reading data past the end of the file are payload-invalid', async () => {
  const payload = buildPayload([systemPartition]);
  await expectRejected(
    await file('payload.bin', payload.subarray(0, payload.length - 4096)),
    'payload-invalid',
  );
});

test('payload extents past the partition, overlapping (looping) extents, a 1 TB partition', async () => {
  const [first, ...rest] = systemPartition.operations;
  assert.ok(first);
  const past = { ...systemPartition, size: 4096 };
  assert.match(
    await expectRejected(await file('payload.bin', buildPayload([past])), 'payload-invalid'),
    /past its size/,
  );
  const looping = { ...systemPartition, operations: [first, first, ...rest] };
  assert.match(
    await expectRejected(await file('payload.bin', buildPayload([looping])), 'payload-invalid'),
    /twice/,
  );
  const huge = { ...systemPartition, size: 2 ** 40 };
  assert.match(
    await expectRejected(await file('payload.bin', buildPayload([huge])), 'payload-invalid'),
    /above the limit/,
  );
});

test('an incremental payload is payload-delta-unsupported, naming the operation', async () => {
  const delta = {
    ...systemPartition,
    operations: [
      ...systemPartition.operations.slice(1),
      { type: OP.SOURCE_COPY, data: Buffer.alloc(0), dst: [{ start: 0, blocks: 16 }] },
    ],
  };
  assert.match(
    await expectRejected(
      await file('payload.bin', buildPayload([delta])),
      'payload-delta-unsupported',
    ),
    /SOURCE_COPY/,
  );
});

test('a REPLACE_XZ operation that is not xz data is payload-invalid', async () => {
  const bad = {
    ...systemPartition,
    operations: systemPartition.operations.map((op, i) =>
      i === 0 ? { ...op, type: OP.REPLACE_XZ, data: Buffer.from('not xz at all') } : op,
    ),
  };
  await expectRejected(await file('payload.bin', buildPayload([bad])), 'payload-invalid');
});

test('a payload without a system partition is image-no-system', async () => {
  const vendorOnly = { ...systemPartition, name: 'vendor' };
  await expectRejected(await file('payload.bin', buildPayload([vendorOnly])), 'image-no-system');
});

test('a manifest that is only a field with a length past its end is payload-invalid', async () => {
  const manifest = Buffer.concat([protoVarint(3, 4096), protoBytes(13, 'x').subarray(0, 2)]);
  const header = Buffer.alloc(24);
  header.write('CrAU', 0, 'latin1');
  header.writeBigUInt64BE(2n, 4);
  header.writeBigUInt64BE(BigInt(manifest.length), 12);
  await expectRejected(
    await file('payload.bin', Buffer.concat([header, manifest])),
    'payload-invalid',
  );
});

// ---- transfer lists ----

async function otaZip(list: string, dat: Buffer, datName = 'system.new.dat'): Promise<string> {
  return makeZip(await ws.path('ota.zip'), [
    { name: 'system.transfer.list', data: Buffer.from(list) },
    { name: datName, data: dat },
  ]);
}
const oneBlock = Buffer.alloc(4096, 1);

test('transfer lists whose ranges are out of bounds, backwards or looping are refused', async () => {
  assert.match(
    await expectRejected(
      await otaZip('4\n1\n0\n0\nnew 2,0,1\nzero 2,1,4000000000\n', oneBlock),
      'transfer-list-invalid',
    ),
    /above the limit/,
  );
  assert.match(
    await expectRejected(
      await otaZip('4\n1\n0\n0\nnew 2,5,1\n', oneBlock),
      'transfer-list-invalid',
    ),
    /backwards/,
  );
  assert.match(
    await expectRejected(
      await otaZip('4\n2\n0\n0\nnew 4,0,1,0,1\n', Buffer.alloc(8192, 1)),
      'transfer-list-invalid',
    ),
    /more than once/,
  );
  assert.match(
    await expectRejected(
      await otaZip('4\n1\n0\n0\nnew 3,0,1\n', oneBlock),
      'transfer-list-invalid',
    ),
    /malformed range set/,
  );
});

test('transfer lists of an unknown version or an incremental OTA are refused by code', async () => {
  await expectRejected(await otaZip('9\n1\nnew 2,0,1\n', oneBlock), 'transfer-list-invalid');
  await expectRejected(
    await otaZip('4\n1\n0\n0\nbsdiff 0 16 abc def 2,0,1 1 2,0,1\n', oneBlock),
    'transfer-list-delta-unsupported',
  );
});

test('a new.dat shorter than its transfer list needs is transfer-list-invalid', async () => {
  assert.match(
    await expectRejected(await otaZip('1\n4\nnew 2,0,4\n', oneBlock), 'transfer-list-invalid'),
    /needs/,
  );
});

test('a brotli new.dat that expands past what the list writes, or is not brotli', async () => {
  const bomb = brotliCompressSync(Buffer.alloc(64 * 1024 * 1024), {
    params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 1 },
  });
  assert.ok(bomb.length < 64 * 1024, 'a small bomb');
  assert.match(
    await expectRejected(
      await otaZip('4\n1\n0\n0\nnew 2,0,1\n', bomb, 'system.new.dat.br'),
      'transfer-list-invalid',
    ),
    /expands past/,
  );
  await expectRejected(
    await otaZip('4\n1\n0\n0\nnew 2,0,1\n', Buffer.from('not brotli'), 'system.new.dat.br'),
    'transfer-list-invalid',
  );
});
