import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv, type DecipherGCM } from 'node:crypto';
import { gunzipSync, inflateSync } from 'node:zlib';
import type { EncodeStep } from '../../src/android/lab-image.ts';
import { encrypt, planCipher } from '../../src/lab/behaviour/ciphers.ts';
import { FakeHost, smsPayload } from '../support/lab-behaviour-fake-host.ts';

const AES_CASES: Array<{
  mode: 'ecb' | 'cbc' | 'ctr' | 'gcm';
  keyHex: string;
  ivHex?: string;
  java: string;
}> = [
  { mode: 'ecb', keyHex: '00112233445566778899aabbccddeeff', java: 'AES/ECB/PKCS5Padding' },
  {
    mode: 'cbc',
    keyHex: '000102030405060708090a0b0c0d0e0f1011121314151617',
    ivHex: 'f0e0d0c0b0a090807060504030201000',
    java: 'AES/CBC/PKCS5Padding',
  },
  {
    mode: 'ctr',
    keyHex: '603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4',
    ivHex: 'f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff',
    java: 'AES/CTR/NoPadding',
  },
  {
    mode: 'gcm',
    keyHex: 'feffe9928665731c6d6a8f9467308308',
    ivHex: 'cafebabefacedbaddecaf888',
    java: 'AES/GCM/NoPadding',
  },
];

for (const c of AES_CASES) {
  test(`aes-${(c.keyHex.length / 2) * 8}-${c.mode} encrypts as Java would and states key, IV and plaintext`, async () => {
    const host = new FakeHost();
    const step = {
      op: 'aes',
      mode: c.mode,
      keyHex: c.keyHex,
      ...(c.ivHex ? { ivHex: c.ivHex } : {}),
    } as EncodeStep;
    const wire = await smsPayload(host, [step]);
    const key = Buffer.from(c.keyHex, 'hex');
    const iv = c.ivHex ? Buffer.from(c.ivHex, 'hex') : null;
    const name = `aes-${key.length * 8}-${c.mode}`;
    let plain: Buffer;
    if (c.mode === 'gcm') {
      const decipher = createDecipheriv(name, key, iv) as DecipherGCM;
      decipher.setAuthTag(wire.subarray(-16));
      plain = Buffer.concat([decipher.update(wire.subarray(0, -16)), decipher.final()]);
    } else {
      const decipher = createDecipheriv(name, key, iv);
      plain = Buffer.concat([decipher.update(wire), decipher.final()]);
    }
    const payload = JSON.parse(plain.toString('utf8')) as {
      imei: string;
      sms: Array<{ body: string }>;
    };
    assert.equal(payload.imei, host.identity().imei);
    assert.equal(payload.sms[0]?.body, 'canary sms body 7f3a');
    const [cipher] = host.ofType('crypto.cipher');
    assert.ok(cipher);
    assert.equal(cipher.algorithm, c.java);
    assert.equal(cipher.mode, c.mode);
    assert.equal(cipher.direction, 'encrypt');
    assert.equal(Buffer.from(cipher.key, 'base64').toString('hex'), c.keyHex);
    assert.equal(
      cipher.iv === undefined ? undefined : Buffer.from(cipher.iv, 'base64').toString('hex'),
      c.ivHex,
    );
    assert.deepEqual(Buffer.from(cipher.input, 'base64'), plain);
    assert.deepEqual(Buffer.from(cipher.output, 'base64'), wire);
  });
}

test('single DES matches the FIPS 81 vectors and names itself DES in the event', async () => {
  const keyHex = '0123456789abcdef';
  const ivHex = '1234567890abcdef';
  // The FIPS 81 appendix B examples: "Now is the time for all " under key 0123456789abcdef.
  const text = Buffer.from('Now is the time for all ');
  const ecb = planCipher({ op: 'des', mode: 'ecb', keyHex });
  const cbc = planCipher({ op: 'des', mode: 'cbc', keyHex, ivHex });
  assert.ok(typeof ecb !== 'string' && typeof cbc !== 'string');
  assert.equal(
    encrypt(ecb, text).subarray(0, 24).toString('hex'),
    '3fa40e8a984d48156a271787ab8883f9893d51ec4b563b53',
  );
  assert.equal(
    encrypt(cbc, text).subarray(0, 24).toString('hex'),
    'e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6',
  );

  const host = new FakeHost();
  const wire = await smsPayload(host, [{ op: 'des', mode: 'cbc', keyHex, ivHex }]);
  const [event] = host.ofType('crypto.cipher');
  assert.equal(event?.algorithm, 'DES/CBC/PKCS5Padding');
  assert.equal(Buffer.from(event?.key ?? '', 'base64').toString('hex'), keyHex);
  assert.equal(Buffer.from(event?.iv ?? '', 'base64').toString('hex'), ivHex);
  const plain = Buffer.from(event?.input ?? '', 'base64');
  assert.equal((JSON.parse(plain.toString()) as { imei: string }).imei, host.identity().imei);
  assert.deepEqual(Buffer.from(event?.output ?? '', 'base64'), wire);
  assert.deepEqual(wire, encrypt(cbc, plain));
  assert.equal(
    wire.length,
    (Math.floor(plain.length / 8) + 1) * 8,
    'PKCS#5 padding adds 1 to 8 bytes',
  );
});

test('3DES (DESede) in CBC and ECB decrypts with node and names itself DESede', async () => {
  const keyHex = '0123456789abcdeffedcba987654321089abcdef01234567';
  for (const mode of ['cbc', 'ecb'] as const) {
    const host = new FakeHost();
    const ivHex = mode === 'cbc' ? '0001020304050607' : undefined;
    const wire = await smsPayload(host, [
      { op: '3des', mode, keyHex, ...(ivHex ? { ivHex } : {}) },
    ]);
    const decipher = createDecipheriv(
      mode === 'cbc' ? 'des-ede3-cbc' : 'des-ede3',
      Buffer.from(keyHex, 'hex'),
      ivHex ? Buffer.from(ivHex, 'hex') : null,
    );
    const plain = Buffer.concat([decipher.update(wire), decipher.final()]).toString();
    assert.equal((JSON.parse(plain) as { imei: string }).imei, host.identity().imei);
    assert.equal(
      host.ofType('crypto.cipher')[0]?.algorithm,
      `DESede/${mode.toUpperCase()}/PKCS5Padding`,
    );
  }
});

test('gzip, deflate, base64 (both alphabets) and hex chain in order, with gzip and base64 events', async () => {
  const host = new FakeHost();
  const wire = await smsPayload(host, [
    { op: 'gzip' },
    { op: 'base64', urlSafe: true },
    { op: 'hex' },
  ]);
  const base64url = Buffer.from(wire.toString(), 'hex').toString();
  assert.match(base64url, /^[A-Za-z0-9_-]+$/);
  const json = gunzipSync(Buffer.from(base64url, 'base64url')).toString();
  assert.equal((JSON.parse(json) as { imei: string }).imei, host.identity().imei);
  const [gzip] = host.ofType('encode.gzip');
  assert.equal(Buffer.from(gzip?.input ?? '', 'base64').toString(), json);
  const [b64] = host.ofType('encode.base64');
  assert.equal(b64?.direction, 'encode');
  assert.deepEqual(Buffer.from(b64?.input ?? '', 'base64'), Buffer.from(base64url, 'base64url'));
  assert.equal(Buffer.from(b64?.output ?? '', 'base64').toString(), base64url);

  const deflateHost = new FakeHost();
  const deflated = await smsPayload(deflateHost, [{ op: 'deflate' }, { op: 'base64' }]);
  assert.match(deflated.toString(), /^[A-Za-z0-9+/]+=*$/);
  const inflated = inflateSync(Buffer.from(deflated.toString(), 'base64')).toString();
  assert.equal((JSON.parse(inflated) as { imei: string }).imei, deflateHost.identity().imei);
  assert.equal(deflateHost.ofType('encode.gzip').length, 0);
});
