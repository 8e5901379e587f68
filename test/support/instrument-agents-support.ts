import { createCipheriv, createHash, createHmac, type Cipher } from 'node:crypto';
import { javaBytes, unsigned, type FakeFrida, type FakeObject } from './instrument-fake-frida.ts';

/**
 * The Android classes the agents hook, as fakes whose original behaviour is real: ciphers,
 * MACs and digests compute with node's crypto, so an event's expected output is computed, not
 * written down.
 */
export function defineAndroid(frida: FakeFrida): void {
  frida.define('javax.crypto.spec.SecretKeySpec', {
    methods: { $init: (self, key) => void (self['key'] = key), getEncoded: (self) => self['key'] },
  });
  frida.define('javax.crypto.spec.IvParameterSpec', { methods: { getIV: (self) => self['iv'] } });
  const running = (self: FakeObject): Cipher => self['node'] as Cipher;
  frida.define('javax.crypto.Cipher', {
    methods: {
      init: (self, _mode, key, spec) => {
        const keyBytes = unsigned((key as FakeObject)['key']);
        self['node'] = createCipheriv(
          'aes-128-cbc',
          keyBytes,
          unsigned((spec as FakeObject)['iv']),
        );
      },
      update: (self, data) => javaBytes(running(self).update(unsigned(data))),
      doFinal: (self, data) =>
        javaBytes(
          Buffer.concat([
            data === undefined ? Buffer.alloc(0) : running(self).update(unsigned(data)),
            running(self).final(),
          ]),
        ),
      getAlgorithm: () => 'AES/CBC/PKCS5Padding',
    },
  });
  frida.define('javax.crypto.Mac', {
    methods: {
      init: (self, key) => void (self['key'] = unsigned((key as FakeObject)['key'])),
      doFinal: (self, data) =>
        javaBytes(
          createHmac('sha256', self['key'] as Buffer)
            .update(unsigned(data))
            .digest(),
        ),
      update: () => undefined,
      getAlgorithm: () => 'HmacSHA256',
    },
  });
  frida.define('java.security.MessageDigest', {
    methods: {
      update: (self, data) => void (self['parts'] as Buffer[]).push(unsigned(data)),
      digest: (self) =>
        javaBytes(
          createHash('sha256')
            .update(Buffer.concat(self['parts'] as Buffer[]))
            .digest(),
        ),
      getAlgorithm: () => 'SHA-256',
    },
  });
  frida.define('android.util.Base64', {
    methods: {
      encodeToString: (_self, data) => unsigned(data).toString('base64'),
      encode: (_self, data) => javaBytes(unsigned(data).toString('base64')),
      decode: (_self, text) => javaBytes(Buffer.from(String(text), 'base64')),
    },
  });
  frida.define('java.util.zip.GZIPOutputStream', {
    methods: { write: () => undefined, finish: () => undefined },
  });
  frida.define('java.util.zip.Deflater', { methods: { setInput: () => undefined } });

  frida.define('android.telephony.TelephonyManager', {
    methods: {
      getImei: () => '356938035643809',
      getDeviceId: () => '356938035643809',
      getSubscriberId: () => '310260000000000',
      getSimSerialNumber: () => '89014103211118510720',
      getLine1Number: () => '+15555215554',
    },
  });
  frida.define('android.os.Build', {
    methods: { getSerial: () => 'EMULATOR30X' },
    fields: { SERIAL: 'EMULATOR30X' },
  });
  frida.define('android.provider.Settings$Secure', {
    methods: {
      getString: (_self, _resolver, name) => (name === 'android_id' ? '9774d56d682e549c' : 'other'),
    },
  });
  frida.define('android.content.ContentResolver', { methods: { query: () => ({ rows: 3 }) } });
  frida.define('android.net.Uri', { methods: {} });

  frida.define('android.telephony.SmsManager', {
    methods: { sendTextMessage: () => undefined, sendDataMessage: () => undefined },
  });
  frida.define('java.lang.Runtime', { methods: { exec: () => ({ process: true }) } });
  frida.define('java.lang.ProcessBuilder', {
    methods: { start: () => ({ process: true }), command: (self) => self['argv'] },
  });

  frida.define('java.net.Socket', { methods: { connect: () => undefined } });
  frida.define('java.net.InetSocketAddress', {
    methods: {
      getHostString: (self) => self['host'],
      getPort: (self) => self['port'],
      getAddress: (self) => frida.instance('java.net.InetAddress', { ip: self['ip'] }),
    },
  });
  frida.define('java.net.InetAddress', {
    methods: {
      getHostAddress: (self) => self['ip'],
      getByName: () => null,
      getAllByName: () => [],
    },
  });
  frida.define('android.webkit.WebView', {
    methods: { loadUrl: () => undefined, postUrl: () => undefined },
  });
  frida.define('okhttp3.internal.connection.RealCall', {
    methods: { execute: () => ({ code: 200 }), request: (self) => self['pending'] },
  });
  frida.define('okhttp3.Request', {
    methods: {
      // Field names differ from the method names: an instance property would shadow the method.
      method: (self) => self['verb'],
      url: (self) => ({ toString: () => self['target'] }),
      headers: (self) => self['headerList'],
      body: (self) => self['payload'],
    },
  });
  frida.define('okhttp3.Headers', {
    methods: {
      size: (self) => (self['pairs'] as string[][]).length,
      name: (self, i) => (self['pairs'] as string[][])[i as number]?.[0],
      value: (self, i) => (self['pairs'] as string[][])[i as number]?.[1],
    },
  });
  frida.define('okhttp3.RequestBody', {
    methods: { writeTo: (self, sink) => void ((sink as FakeObject)['data'] = self['data']) },
  });
  frida.define('okio.Buffer', {
    methods: {
      $new: () => frida.instance('okio.Buffer', {}),
      readByteArray: (self) => self['data'],
    },
  });
}

/** okhttp3.Request as R8 leaves it: `a.b.c`, fields renamed, shape kept; plus look-alikes. */
export function defineObfuscatedOkHttp(frida: FakeFrida): void {
  const requestShape = [
    { name: 'a', type: 'a.b.d' },
    { name: 'b', type: 'java.lang.String' },
    { name: 'c', type: 'a.b.e' },
    { name: 'd', type: 'a.b.f' },
    { name: 'e', type: 'java.util.Map' },
  ];
  frida.define('a.b.c', { methods: { $init: () => undefined }, declaredFields: requestShape });
  // Same shape, but what sits in the URL slot is no URL: not a request, not reported.
  frida.define('a.b.x', { methods: { $init: () => undefined }, declaredFields: requestShape });
  // Another shape altogether.
  frida.define('a.b.y', {
    methods: { $init: () => undefined },
    declaredFields: [{ name: 'a', type: 'java.lang.String' }],
  });
}

/** An instance of an obfuscated request-shaped class, its fields as Frida exposes them. */
export function obfuscatedRequest(
  frida: FakeFrida,
  className: string,
  request: { method: string; url: string; headers: string },
): FakeObject {
  return frida.instance(className, {
    a: { value: { toString: () => request.url } },
    b: { value: request.method },
    c: { value: { toString: () => request.headers } },
    d: { value: null },
    e: { value: {} },
  });
}

/** A Java Uri whose toString is `text`. */
export function uri(frida: FakeFrida, text: string): FakeObject {
  return frida.instance('android.net.Uri', { toString: () => text });
}

/** struct sockaddr_in for an IPv4 address and port, as the kernel lays it out. */
export function sockaddrIn(ip: string, port: number): Buffer {
  const buffer = Buffer.alloc(16);
  buffer.writeUInt16LE(2, 0);
  buffer.writeUInt16BE(port, 2);
  ip.split('.').forEach((part, i) => buffer.writeUInt8(Number(part), 4 + i));
  return buffer;
}
