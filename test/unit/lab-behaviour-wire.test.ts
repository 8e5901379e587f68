import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { payloadQuery } from '../../src/lab/behaviour/collect.ts';
import { dnsQueryNames } from '../../src/lab/behaviour/net/dns-send.ts';
import {
  buildHttpRequest,
  dalvikUserAgent,
  type HttpSend,
} from '../../src/lab/behaviour/net/http-request.ts';
import { readHttpResponse } from '../../src/lab/behaviour/net/response.ts';
import { sendSchema } from '../../src/android/lab-image.ts';

const UA = dalvikUserAgent('6.0', 'R1 HD', 'MRA58K');

function httpSend(spec: unknown): HttpSend {
  const parsed = sendSchema.parse(spec);
  assert.ok(parsed.channel === 'https' || parsed.channel === 'http');
  return parsed;
}

test('a form request carries the payload text URL-encoded in one field, with a Dalvik User-Agent', () => {
  const send = httpSend({
    channel: 'https',
    host: 'bigdata.adups.com',
    path: '/bigdata/upload',
    carry: { as: 'form', field: 'data' },
  });
  const encoded = Buffer.from('q+/w=');
  const request = buildHttpRequest(send, {}, encoded, UA);
  assert.equal(request.url, 'https://bigdata.adups.com/bigdata/upload');
  assert.equal(request.body?.toString(), 'data=q%2B%2Fw%3D');
  const text = request.bytes.toString('latin1');
  assert.ok(text.startsWith('POST /bigdata/upload HTTP/1.1\r\n'), text);
  assert.match(text, /\r\nHost: bigdata\.adups\.com\r\n/);
  assert.match(
    text,
    /\r\nUser-Agent: Dalvik\/2\.1\.0 \(Linux; U; Android 6\.0; R1 HD Build\/MRA58K\)\r\n/,
  );
  assert.match(text, /\r\nContent-Type: application\/x-www-form-urlencoded\r\n/);
  assert.match(text, /\r\nContent-Length: 16\r\n\r\ndata=q%2B%2Fw%3D$/);
});

test('a form carry with constant fields sends them before the payload field, as Sensors Analytics does', () => {
  const send = httpSend({
    channel: 'https',
    host: 'sa.api.intl.miui.com',
    path: '/sa?project=global_browser_mini',
    carry: { as: 'form', field: 'data_list', fields: { gzip: '1', crc: '-42' } },
  });
  const request = buildHttpRequest(send, {}, Buffer.from('H4sI+/='), UA);
  assert.equal(request.url, 'https://sa.api.intl.miui.com/sa?project=global_browser_mini');
  assert.equal(request.body?.toString(), 'gzip=1&crc=-42&data_list=H4sI%2B%2F%3D');
});

test('json and body carries, extra headers replacing defaults, ports in Host where not the default', () => {
  const json = buildHttpRequest(
    httpSend({
      channel: 'http',
      host: 'h.example.org',
      port: 8080,
      method: 'PUT',
      path: '/j',
      carry: { as: 'json', field: 'p' },
      headers: { 'user-agent': 'okhttp/3.4.1', 'X-Chan': 'blu' },
    }),
    {},
    Buffer.from('abc'),
    UA,
  );
  assert.equal(json.url, 'http://h.example.org:8080/j');
  assert.equal(json.body?.toString(), '{"p":"abc"}');
  assert.deepEqual(
    json.headers.filter(([n]) => /user-agent|host|x-chan/i.test(n)),
    [
      ['user-agent', 'okhttp/3.4.1'],
      ['Host', 'h.example.org:8080'],
      ['X-Chan', 'blu'],
    ],
  );

  const raw = Buffer.from([0x1f, 0x8b, 0x00, 0xff]);
  const body = buildHttpRequest(
    httpSend({ channel: 'https', host: 'c.example.org', path: '/p', carry: { as: 'body' } }),
    {},
    raw,
    UA,
  );
  assert.deepEqual(body.body, raw);
  assert.deepEqual(body.bytes.subarray(-4), raw);
  assert.ok(
    body.headers.some(([n, v]) => n === 'Content-Type' && v === 'application/octet-stream'),
  );
});

test('a query carry flattens the collected fields into the URL, GET without a body', () => {
  const payload = {
    imei: '490154203237518',
    build: { model: 'R1 HD', version: '6.0', sdk: 23 },
    sms: [{ body: 'a&b' }],
    model: 'dup',
  };
  assert.equal(
    payloadQuery(payload),
    'imei=490154203237518&sms=%5B%7B%22body%22%3A%22a%26b%22%7D%5D&model=dup&build_model=R1+HD&version=6.0&sdk=23',
  );
  const request = buildHttpRequest(
    httpSend({
      channel: 'https',
      host: 'fota.adups.com',
      method: 'GET',
      path: '/ota/check',
      carry: { as: 'query' },
    }),
    { imei: '1' },
    Buffer.alloc(0),
    UA,
  );
  assert.equal(request.url, 'https://fota.adups.com/ota/check?imei=1');
  assert.equal(request.body, undefined);
  assert.ok(request.bytes.toString().startsWith('GET /ota/check?imei=1 HTTP/1.1\r\n'));
  assert.ok(!/content-length/i.test(request.bytes.toString()));
});

test('DNS tunnel names keep to 63-character labels and 253-character names and carry every character', () => {
  const text = 'ab01'.repeat(200);
  const names = dnsQueryNames(text, 't.example.org.');
  assert.ok(names.length > 1);
  let carried = '';
  names.forEach((name, index) => {
    assert.ok(name.length <= 253, name);
    const labels = name.split('.');
    assert.ok(labels.every((l) => l.length >= 1 && l.length <= 63));
    assert.deepEqual(labels.slice(-4), [String(index), 't', 'example', 'org']);
    carried += labels.slice(0, -4).join('');
  });
  assert.equal(carried, text);
});

test('the response reader stops at Content-Length, at the last chunk, or at close', async () => {
  const cases: Array<{ chunks: string[]; close: boolean; status: number }> = [
    {
      chunks: ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel', 'lo'],
      close: false,
      status: 200,
    },
    {
      chunks: [
        'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n',
        '0\r\n\r\n',
      ],
      close: false,
      status: 404,
    },
    {
      chunks: ['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n'],
      close: false,
      status: 204,
    },
    { chunks: ['HTTP/1.0 200 OK\r\n\r\nuntil the end'], close: true, status: 200 },
  ];
  for (const c of cases) {
    const stream = new PassThrough();
    const reading = readHttpResponse(stream, 'POST');
    for (const chunk of c.chunks) stream.write(chunk);
    if (c.close) stream.end();
    const response = await reading;
    assert.equal(response.status, c.status);
    assert.equal(response.raw.toString(), c.chunks.join(''));
  }
  const empty = new PassThrough();
  const failing = readHttpResponse(empty, 'GET');
  empty.end();
  await assert.rejects(failing, /without an HTTP response/);
});
