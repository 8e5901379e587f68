import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  assertSchema,
  b64,
  base,
  builtBundles,
  loadAgent,
  stack,
} from '../support/instrument-agents-harness.ts';
import { uri } from '../support/instrument-agents-support.ts';
import { javaBytes } from '../support/instrument-fake-frida.ts';

const bundle = builtBundles();
const identity = {
  imei: '490154203237518',
  imsi: '001010123456789',
  iccid: '89001012345678901234',
  line1: '+15555550123',
  serial: 'CANARY0SERIAL',
  androidId: 'c0ffee00c0ffee00',
};
const agent = (name: string, options: Record<string, unknown> = {}) =>
  loadAgent(bundle.path(name), options);

test('build:hooks bundles every agent set, the Java bridge inside', async () => {
  assert.deepEqual(bundle.names(), ['all', 'channels', 'crypto', 'identity', 'network', 'sources']);
  for (const name of bundle.names()) {
    const text = await readFile(bundle.path(name), 'utf8');
    // frida-java-bridge's Runtime, bundled and initialised lazily (only without a runtime Java).
    assert.match(text, /_tryInitialize/, `${name} carries the Java bridge`);
    assert.match(text, /rpc\.exports = \{/, `${name} exports configure over RPC`);
  }
});

test('crypto agent reports cipher key, IV, plaintext and ciphertext, MAC, digest and encoders', async () => {
  const frida = await agent('crypto');
  const key = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
  const iv = Buffer.from('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', 'hex');
  const spec = frida.instance('javax.crypto.spec.SecretKeySpec', {});
  frida.app(spec, '$init', javaBytes(key), 'AES');
  const cipher = frida.instance('javax.crypto.Cipher', {});
  frida.app(
    cipher,
    'init',
    1,
    spec,
    frida.instance('javax.crypto.spec.IvParameterSpec', { iv: javaBytes(iv) }),
  );
  frida.app(cipher, 'update', javaBytes('{"imei":"4901542'));
  frida.app(cipher, 'doFinal', javaBytes('03237518"}'));
  const expected = createCipheriv('aes-128-cbc', key, iv);
  const ciphertext = Buffer.concat([
    expected.update('{"imei":"490154203237518"}'),
    expected.final(),
  ]);

  const mac = frida.instance('javax.crypto.Mac', {});
  frida.app(mac, 'init', spec);
  frida.app(mac, 'doFinal', javaBytes('payload'));
  const digest = frida.instance('java.security.MessageDigest', { parts: [] });
  frida.app(digest, 'update', javaBytes('abc'));
  frida.app(digest, 'digest');
  const encoded = frida.app('android.util.Base64', 'encodeToString', javaBytes(ciphertext), 2);
  assert.equal(encoded, ciphertext.toString('base64'), 'the app still gets the original result');
  const gzip = frida.instance('java.util.zip.GZIPOutputStream', {});
  frida.app(gzip, 'write', javaBytes('xxhello'), 2, 5);
  frida.app(gzip, 'finish');

  assert.deepEqual(frida.events(), [
    {
      ...base,
      stack,
      type: 'crypto.cipher',
      algorithm: 'AES/CBC/PKCS5Padding',
      mode: 'CBC',
      direction: 'encrypt',
      key: b64(key),
      iv: b64(iv),
      input: b64('{"imei":"490154203237518"}'),
      output: b64(ciphertext),
    },
    {
      ...base,
      type: 'crypto.mac',
      algorithm: 'HmacSHA256',
      key: b64(key),
      input: b64('payload'),
      output: b64(createHmac('sha256', key).update('payload').digest()),
    },
    {
      ...base,
      type: 'crypto.digest',
      algorithm: 'SHA-256',
      input: b64('abc'),
      output: b64(createHash('sha256').update('abc').digest()),
    },
    {
      ...base,
      type: 'encode.base64',
      direction: 'encode',
      input: b64(ciphertext),
      output: b64(b64(ciphertext)),
    },
    { ...base, type: 'encode.gzip', input: b64('hello') },
  ]);
  assertSchema(frida);
});

test('sources agent reports identifier and content reads without changing answers', async () => {
  const frida = await agent('sources', { identity });
  const telephony = frida.instance('android.telephony.TelephonyManager', {});
  assert.equal(frida.app(telephony, 'getImei'), '356938035643809');
  frida.app('android.provider.Settings$Secure', 'getString', {}, 'android_id');
  frida.app('android.provider.Settings$Secure', 'getString', {}, 'screen_brightness');
  const resolver = frida.instance('android.content.ContentResolver', {});
  frida.app(resolver, 'query', uri(frida, 'content://sms/inbox'), null, null, null, null);
  frida.app(resolver, 'query', uri(frida, 'content://settings/system'), null, null, null, null);
  // A report that fails (no Uri at all) must not change what the app gets.
  assert.deepEqual(frida.app(resolver, 'query', null, null, null, null, null), { rows: 3 });
  assert.deepEqual(frida.events(), [
    {
      ...base,
      stack,
      type: 'source.read',
      from: 'TelephonyManager.getImei',
      value: '356938035643809',
    },
    {
      ...base,
      stack,
      type: 'source.read',
      from: 'Settings.Secure.ANDROID_ID',
      value: '9774d56d682e549c',
    },
    { ...base, stack, type: 'source.read', from: 'content://sms/inbox' },
  ]);
  assertSchema(frida);
});

test('identity agent answers identifier getters with the canaries, silently', async () => {
  const frida = await agent('identity', { identity });
  const telephony = frida.instance('android.telephony.TelephonyManager', {});
  assert.equal(frida.app(telephony, 'getImei'), identity.imei);
  assert.equal(frida.app(telephony, 'getDeviceId'), identity.imei);
  assert.equal(frida.app(telephony, 'getSubscriberId'), identity.imsi);
  assert.equal(frida.app(telephony, 'getSimSerialNumber'), identity.iccid);
  assert.equal(frida.app(telephony, 'getLine1Number'), identity.line1);
  assert.equal(frida.app('android.os.Build', 'getSerial'), identity.serial);
  assert.equal(
    frida.app('android.provider.Settings$Secure', 'getString', {}, 'android_id'),
    identity.androidId,
  );
  assert.equal(
    frida.app('android.provider.Settings$Secure', 'getString', {}, 'other_key'),
    'other',
  );
  assert.deepEqual(frida.events(), []);
});

test('the combined agent spoofs and reports the spoofed value', async () => {
  const frida = await agent('all', { identity });
  const telephony = frida.instance('android.telephony.TelephonyManager', {});
  assert.equal(frida.app(telephony, 'getImei'), identity.imei);
  assert.deepEqual(frida.events(), [
    { ...base, stack, type: 'source.read', from: 'TelephonyManager.getImei', value: identity.imei },
  ]);
});

test('channels agent reports hidden SMS, commands and silent installs', async () => {
  const frida = await agent('channels');
  const sms = frida.instance('android.telephony.SmsManager', {});
  frida.app(sms, 'sendTextMessage', '+15555550100', null, 'imei=490154203237518', null, null);
  frida.app(
    sms,
    'sendDataMessage',
    '+15555550101',
    null,
    7000,
    javaBytes('\u0001data'),
    null,
    null,
  );
  const runtime = frida.instance('java.lang.Runtime', {});
  frida.app(runtime, 'exec', 'pm install -r /sdcard/.ota/update.apk');
  frida.app(frida.instance('java.lang.ProcessBuilder', { argv: ['sh', '-c', 'id'] }), 'start');
  assert.deepEqual(frida.events(), [
    { ...base, stack, type: 'sms.send', destination: '+15555550100', body: 'imei=490154203237518' },
    { ...base, stack, type: 'sms.send', destination: '+15555550101', data: b64('\u0001data') },
    { ...base, stack, type: 'exec', command: 'pm install -r /sdcard/.ota/update.apk' },
    {
      ...base,
      stack,
      type: 'package.install',
      target: 'update.apk',
      path: '/sdcard/.ota/update.apk',
    },
    { ...base, stack, type: 'exec', command: 'sh -c id' },
  ]);
  assertSchema(frida);
});
