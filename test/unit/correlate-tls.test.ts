import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { parseKeyLog } from '../../src/correlate/index.ts';
import { decryptTls } from '../../src/correlate/readers/tls-decrypt.ts';
import {
  cipherSuite,
  nextTrafficSecret,
  tls13Keys,
  type CipherSuite,
} from '../../src/correlate/readers/tls-keys.ts';
import { clientHello } from '../fixtures/correlate/pcap-writer.ts';

const hex = (b: Buffer): string => b.toString('hex');

test('key log lines are grouped by client random; other labels ignored, broken lines warned with their line', () => {
  const random = 'AB'.repeat(32);
  const text = [
    '# SSL/TLS secrets log file',
    `CLIENT_HANDSHAKE_TRAFFIC_SECRET ${random} ${'11'.repeat(32)}`,
    `EXPORTER_SECRET ${random} ${'22'.repeat(32)}`,
    `CLIENT_TRAFFIC_SECRET_0 ${random} ${'33'.repeat(32)}`,
    `CLIENT_RANDOM ${'cd'.repeat(32)} ${'44'.repeat(48)}`,
    `CLIENT_RANDOM ${'cd'.repeat(31)} ${'44'.repeat(48)}`,
    '',
  ].join('\r\n');
  const { keys, warnings } = parseKeyLog('k.log', text);
  assert.equal(keys.size, 2);
  const session = keys.get(random.toLowerCase());
  assert.equal(hex(session?.clientHandshake ?? Buffer.alloc(0)), '11'.repeat(32));
  assert.equal(hex(session?.clientTraffic0 ?? Buffer.alloc(0)), '33'.repeat(32));
  assert.equal(session?.masterSecret, undefined);
  assert.equal(hex(keys.get('cd'.repeat(32))?.masterSecret ?? Buffer.alloc(0)), '44'.repeat(48));
  assert.deepEqual(warnings, ['k.log:6: CLIENT_RANDOM line is not <64 hex> <hex secret>; skipped']);
});

/** A TLS 1.3 record as a sender would seal it: inner type, zero padding, AEAD over the header. */
function seal(
  suite: CipherSuite,
  secret: Buffer,
  seq: number,
  type: number,
  content: Buffer,
  padding = 0,
): Buffer {
  const { key, iv } = tls13Keys(suite, secret);
  const nonce = Buffer.from(iv);
  for (let i = 0; i < 8; i++) nonce[4 + i]! ^= Number((BigInt(seq) >> BigInt(8 * (7 - i))) & 0xffn);
  const inner = Buffer.concat([content, Buffer.from([type]), Buffer.alloc(padding)]);
  const header = Buffer.from([23, 3, 3, (inner.length + 16) >> 8, (inner.length + 16) & 0xff]);
  const cipher = createCipheriv('aes-128-gcm', key, nonce, { authTagLength: 16 });
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(inner), cipher.final(), cipher.getAuthTag()]);
  return Buffer.concat([header, body]);
}

function serverHello13(suiteId: number): Buffer {
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    randomBytes(32),
    Buffer.from([0, suiteId >> 8, suiteId & 0xff, 0]),
    Buffer.from([0, 6, 0, 43, 0, 2, 3, 4]),
  ]);
  const message = Buffer.concat([Buffer.from([2, 0, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([22, 3, 3, 0, message.length]), message]);
}

function tls13Session() {
  const suite = cipherSuite(0x1301)!;
  const hello = clientHello('t.example');
  // The fixture hello is followed by 40 filler bytes that are not a record: keep the record only.
  const helloRecord = hello.subarray(0, 5 + hello.readUInt16BE(3));
  const random = helloRecord.subarray(11, 43);
  const handshake = randomBytes(32);
  const traffic0 = randomBytes(32);
  const traffic1 = nextTrafficSecret(suite, traffic0);
  const first = Buffer.from(
    'POST /a HTTP/1.1\r\nHost: t.example\r\nContent-Length: 5\r\n\r\nfirst',
  );
  const second = Buffer.from('GET /b?x=second HTTP/1.1\r\nHost: t.example\r\n\r\n');
  const upstream = Buffer.concat([
    helloRecord,
    Buffer.from([20, 3, 3, 0, 1, 1]),
    seal(suite, handshake, 0, 22, Buffer.from([20, 0, 0, 32, ...randomBytes(32)])),
    seal(suite, traffic0, 0, 23, first, 7),
    seal(suite, traffic0, 1, 22, Buffer.from([24, 0, 0, 1, 0])),
    seal(suite, traffic1, 0, 23, second),
  ]);
  const keylog = [
    `CLIENT_HANDSHAKE_TRAFFIC_SECRET ${hex(random)} ${hex(handshake)}`,
    `CLIENT_TRAFFIC_SECRET_0 ${hex(random)} ${hex(traffic0)}`,
  ].join('\n');
  return {
    upstream,
    downstream: serverHello13(0x1301),
    keylog,
    plaintext: Buffer.concat([first, second]),
  };
}

test('TLS 1.3 records: handshake then traffic secret, padding stripped, KeyUpdate followed', () => {
  const session = tls13Session();
  const { keys } = parseKeyLog('k.log', session.keylog);
  const result = decryptTls(session.upstream, session.downstream, keys);
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.suite, 'TLS_AES_128_GCM_SHA256');
  assert.deepEqual(result.problems, []);
  assert.equal(result.upstream.toString('latin1'), session.plaintext.toString('latin1'));
});

test('damaged TLS streams give a reason or a problem, never an exception', () => {
  const session = tls13Session();
  const { keys } = parseKeyLog('k.log', session.keylog);
  for (let cut = 0; cut < session.upstream.length; cut += 7) {
    const result = decryptTls(session.upstream.subarray(0, cut), session.downstream, keys);
    if (result.ok) assert.ok(session.plaintext.includes(result.upstream), `cut at ${cut}`);
  }
  for (let cut = 0; cut < session.downstream.length; cut += 3)
    assert.equal(decryptTls(session.upstream, session.downstream.subarray(0, cut), keys).ok, false);
  for (let i = 0; i < 200; i++) {
    const flipped = Buffer.from(session.upstream);
    const at = i % flipped.length;
    flipped[at] = flipped[at]! ^ (1 + (i % 255));
    const result = decryptTls(flipped, session.downstream, keys);
    if (result.ok && result.upstream.length < session.plaintext.length)
      assert.ok(result.problems.length > 0, `a flipped byte at ${at} is reported`);
  }
  const unknownSuite = decryptTls(session.upstream, serverHello13(0x1304), keys);
  assert.deepEqual(unknownSuite, {
    ok: false,
    reason: 'cipher suite 0x1304 cannot be decrypted (AES-GCM and ChaCha20-Poly1305 only)',
  });
});
