import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertSchema,
  b64,
  base,
  builtBundles,
  loadAgent,
  stack,
} from '../support/instrument-agents-harness.ts';
import {
  defineObfuscatedOkHttp,
  obfuscatedRequest,
  sockaddrIn,
} from '../support/instrument-agents-support.ts';
import { javaBytes, pointer } from '../support/instrument-fake-frida.ts';

const bundle = builtBundles();

test('network agent reports Java requests, native sends with peers, lookups and TLS plaintext', async () => {
  const serverName = pointer(Buffer.from('api.tracker.example\0'));
  const frida = await loadAgent(bundle.path('network'), {}, (fake) => {
    defineObfuscatedOkHttp(fake);
    for (const symbol of ['connect', 'send', 'sendto', 'write', 'getaddrinfo'])
      fake.exportNative({ module: 'libc.so', symbol });
    fake.exportNative({ module: 'libssl.so', symbol: 'SSL_write' });
    fake.exportNative({ module: 'libssl.so', symbol: 'SSL_read' });
    fake.exportNative({ module: 'libssl.so', symbol: 'SSL_get_fd', impl: () => 9 });
    fake.exportNative({
      module: 'libssl.so',
      symbol: 'SSL_get_servername',
      impl: () => serverName,
    });
    fake.openSocket(7, 'tcp', '203.0.113.5', 8080);
    fake.openSocket(9, 'tcp', '203.0.113.9', 443);
  });

  const address = frida.instance('java.net.InetSocketAddress', {
    host: 'collect.example',
    ip: '203.0.113.5',
    port: 8080,
  });
  frida.app(frida.instance('java.net.Socket', {}), 'connect', address, 3000);
  const headers = frida.instance('okhttp3.Headers', { pairs: [['X-Id', '490154203237518']] });
  const body = frida.instance('okhttp3.RequestBody', { data: javaBytes('a=1') });
  const request = frida.instance('okhttp3.Request', {
    verb: 'POST',
    target: 'https://collect.example/u',
    headerList: headers,
    payload: body,
  });
  frida.app(
    frida.instance('okhttp3.internal.connection.RealCall', { pending: request }),
    'execute',
  );
  frida.app(frida.instance('android.webkit.WebView', {}), 'loadUrl', 'https://ads.example/');
  const obfuscated = {
    method: 'PUT',
    url: 'https://obf.example/x',
    headers: 'X-Imei: 490154203237518\nAccept: */*\n',
  };
  frida.app(obfuscatedRequest(frida, 'a.b.c', obfuscated), '$init');
  frida.app(obfuscatedRequest(frida, 'a.b.x', { ...obfuscated, url: 'not a url' }), '$init');
  assert.ok(!frida.hooked('a.b.y', '$init'), 'a class of another shape is left alone');

  frida.native('connect', [pointer(7), pointer(sockaddrIn('203.0.113.5', 8080)), pointer(16)]);
  frida.native('write', [pointer(7), pointer(Buffer.from('GET / HTTP/1.1\r\n')), pointer(16)]);
  frida.native('write', [pointer(3), pointer(Buffer.from('not a socket')), pointer(12)]);
  frida.native('getaddrinfo', [
    pointer(Buffer.from('c2.example\0')),
    pointer(0),
    pointer(0),
    pointer(0),
  ]);
  frida.native('SSL_write', [
    pointer(Buffer.alloc(8)),
    pointer(Buffer.from('imei=490154203237518')),
    pointer(20),
  ]);
  frida.native(
    'SSL_read',
    [pointer(Buffer.alloc(8)), pointer(Buffer.from('OK\0\0')), pointer(4)],
    pointer(2),
  );

  assert.deepEqual(frida.events(), [
    { ...base, type: 'net.connect', host: 'collect.example', ip: '203.0.113.5', port: 8080 },
    {
      ...base,
      stack,
      type: 'http.request',
      method: 'POST',
      url: 'https://collect.example/u',
      headers: [['X-Id', '490154203237518']],
      body: b64('a=1'),
    },
    { ...base, stack, type: 'http.request', method: 'GET', url: 'https://ads.example/' },
    {
      ...base,
      stack,
      type: 'http.request',
      method: 'PUT',
      url: 'https://obf.example/x',
      headers: [
        ['X-Imei', '490154203237518'],
        ['Accept', '*/*'],
      ],
    },
    { ...base, type: 'net.connect', ip: '203.0.113.5', port: 8080 },
    { ...base, type: 'net.send', ip: '203.0.113.5', port: 8080, data: b64('GET / HTTP/1.1\r\n') },
    { ...base, type: 'dns.query', name: 'c2.example' },
    {
      ...base,
      type: 'tls.write',
      host: 'api.tracker.example',
      ip: '203.0.113.9',
      port: 443,
      data: b64('imei=490154203237518'),
    },
    { ...base, type: 'tls.read', host: 'api.tracker.example', data: b64('OK') },
  ]);
  assertSchema(frida);
});
