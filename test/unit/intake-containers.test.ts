import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findOverlap } from '../../src/intake/ota/block-image.ts';
import {
  ProtoError,
  protoMessages,
  protoUint,
  readProtoFields,
} from '../../src/intake/ota/protobuf.ts';
import { parseTransferList } from '../../src/intake/ota/transfer-list.ts';
import { protoBytes, protoVarint } from '../fixtures/intake/container-writers.ts';

test('the protobuf reader reads varints, nested messages and repeated fields', () => {
  const inner = Buffer.concat([protoVarint(1, 7), protoVarint(2, 2n ** 40n)]);
  const message = Buffer.concat([
    protoVarint(3, 4096),
    protoBytes(13, inner),
    protoBytes(13, protoVarint(1, 9)),
    protoBytes(1, 'system'),
  ]);
  const fields = readProtoFields(message);
  assert.equal(protoUint(fields, 3), 4096n);
  const nested = protoMessages(fields, 13).map((m) => readProtoFields(m));
  assert.equal(nested.length, 2);
  assert.equal(protoUint(nested[0] ?? [], 2), 2n ** 40n);
  assert.equal(protoMessages(fields, 1)[0]?.toString(), 'system');
});

test('the protobuf reader refuses lengths past the end, endless varints and unknown wire types', () => {
  assert.throws(() => readProtoFields(protoBytes(13, 'abcdef').subarray(0, 4)), ProtoError);
  assert.throws(() => readProtoFields(Buffer.alloc(12, 0xff)), /longer than 10 bytes/);
  assert.throws(() => readProtoFields(Buffer.from([(1 << 3) | 3])), /wire type 3/);
});

test('transfer lists: versions 1 and 4, new ranges in order, zero and erase setting the size', () => {
  const v1 = parseTransferList('1\n3\nerase 2,0,10\nnew 4,5,7,1,2\n', 'v1', 1 << 30);
  assert.deepEqual(v1.newSpans, [
    { start: 5, end: 7 },
    { start: 1, end: 2 },
  ]);
  assert.equal(v1.imageBlocks, 10);
  const v4 = parseTransferList('4\n1\n0\n0\nzero 2,0,1\nnew 2,1,2\n\n', 'v4', 1 << 30);
  assert.equal(v4.version, 4);
  assert.equal(v4.imageBlocks, 2);
  assert.throws(() => parseTransferList('4\n1\n0\n0\nfrobnicate 2,0,1\n', 'x', 1 << 30), {
    code: 'transfer-list-invalid',
  });
  assert.throws(() => parseTransferList('4\n1\n0\n0\nstash abc 2,0,1\n', 'x', 1 << 30), {
    code: 'transfer-list-delta-unsupported',
  });
});

test('overlapping block spans are found whatever their order', () => {
  assert.equal(
    findOverlap([
      { start: 0, end: 4 },
      { start: 4, end: 8 },
    ]),
    undefined,
  );
  assert.deepEqual(
    findOverlap([
      { start: 6, end: 9 },
      { start: 0, end: 7 },
    ]),
    [
      { start: 0, end: 7 },
      { start: 6, end: 9 },
    ],
  );
});
