import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { flowsToHar } from '../../src/capture/har.ts';
import type { Flow } from '../../src/capture/flow.ts';
import { readHar } from '../../src/correlate/readers/har.ts';
import { readPcap, type CaptureReadResult } from '../../src/correlate/readers/pcap.ts';
import { decryptTls, type TlsDecryption } from '../../src/correlate/readers/tls-decrypt.ts';
import { clientHelloSni } from '../../src/correlate/readers/tls-hello.ts';
import { splitRecords } from '../../src/correlate/readers/tls-records.ts';
import {
  writeCapture,
  type Conversation,
  type Datagram,
  type FileFormat,
  type LinkLayer,
} from '../fixtures/correlate/pcap-writer.ts';
import type { FuzzTarget } from './fuzz-harness.ts';
import { ascii, type FuzzSeed } from './fuzz-mutations.ts';
import { tlsSessions } from './fuzz-tls-sessions.ts';

/**
 * Fuzz targets for the capture readers: pcap and pcapng files read whole (TCP reassembly, HTTP,
 * TLS decryption with a key log), HAR files, and TLS streams handed straight to the decryption.
 */

/** What HTTP and TLS readers split on: worth inserting anywhere in a stream. */
const STREAM_TOKENS = ascii(
  '\r\n',
  '\r\n\r\n',
  'GET / HTTP/1.1\r\n',
  'HTTP/1.1 200 OK\r\n',
  'Content-Length: 4294967296\r\n',
  'Transfer-Encoding: chunked\r\n\r\n',
  'ffffffffffff\r\n',
  '0\r\n\r\n',
  '\x16\x03\x01\xff\xff\x01',
  '\x17\x03\x03\x00\x00',
  '\x14\x03\x03\x00\x01\x01',
);

function conversations(): Conversation[] {
  const { sessions } = tlsSessions();
  const tls = sessions[0]!;
  return [
    {
      client: { ip: '10.0.2.15', port: 40001 },
      server: { ip: '198.18.0.1', port: 80 },
      upstream: Buffer.from(
        'POST /c?imei=490154203237518 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 9\r\n\r\nsms=hello',
      ),
      downstream: Buffer.from(
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
      ),
    },
    {
      client: { ip: '10.0.2.15', port: 40002 },
      server: { ip: '198.18.0.2', port: 443 },
      upstream: tls.upstream,
      downstream: tls.downstream,
      disorder: true,
    },
  ];
}

const DATAGRAMS: Datagram[] = [
  {
    src: { ip: '10.0.2.15', port: 5353 },
    dst: { ip: '198.18.0.53', port: 53 },
    payload: Buffer.from('0001010000010000000000000161076578616d706c6500000100', 'hex'),
  },
  {
    src: { ip: '10.0.2.15', port: 5000 },
    dst: { ip: '198.18.0.9', port: 443 },
    payload: Buffer.from('quic-ish datagram'),
  },
];

const V6: Conversation = {
  client: { ip: 'fd00::15', port: 40003 },
  server: { ip: 'fd00::1', port: 8080 },
  upstream: Buffer.from('GET /v6 HTTP/1.1\r\nHost: [fd00::1]\r\n\r\n'),
};

/** Offsets of every record's captured and original length in a classic pcap. */
function pcapFields(bytes: Buffer): number[] {
  const le = bytes.readUInt32LE(0) === 0xa1b2c3d4 || bytes.readUInt32LE(0) === 0xa1b23c4d;
  const u32 = (at: number) => (le ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  const fields = [0, 20];
  for (let at = 24; at + 16 <= bytes.length; at += 16 + u32(at + 8)) fields.push(at + 8, at + 12);
  return fields;
}

/** Offsets of every block's lengths, interface and captured length in a pcapng. */
function pcapngFields(bytes: Buffer): number[] {
  const fields: number[] = [8];
  for (let at = 0; at + 12 <= bytes.length;) {
    const length = bytes.readUInt32LE(at + 4);
    if (length < 12) break;
    fields.push(at, at + 4, at + length - 4, at + 8, at + 12);
    if (bytes.readUInt32LE(at) === 6) fields.push(at + 20, at + 24);
    at += length;
  }
  return fields;
}

/**
 * Makes each block's trailing length agree with its leading one, as far as the leading lengths
 * chain: a mutated length then yields a well-formed short or long block instead of garbage the
 * reader resynchronises over.
 */
function repairPcapng(input: Buffer): Buffer {
  const bytes = Buffer.from(input);
  for (let at = 0; at + 12 <= bytes.length;) {
    const length = bytes.readUInt32LE(at + 4);
    if (length < 12 || length % 4 !== 0 || at + length > bytes.length) break;
    bytes.writeUInt32LE(length, at + length - 4);
    at += length;
  }
  return bytes;
}

async function captureTarget(
  scratch: string,
  name: 'pcap' | 'pcapng',
  files: ReadonlyArray<[FileFormat, LinkLayer, Conversation[], Datagram[]]>,
): Promise<FuzzTarget> {
  const path = join(scratch, `capture.${name}`);
  const seeds: FuzzSeed[] = [];
  for (const [format, layer, convs, datagrams] of files) {
    await writeCapture(path, format, layer, convs, datagrams);
    const bytes = await readFile(path);
    seeds.push({ bytes, fields: name === 'pcap' ? pcapFields(bytes) : pcapngFields(bytes) });
  }
  const { keyLog } = tlsSessions();
  return {
    name,
    seeds,
    ...(name === 'pcapng' ? { repair: repairPcapng } : {}),
    tokens: [
      ...STREAM_TOKENS,
      Buffer.from([0x0a, 0x0d, 0x0d, 0x0a]),
      Buffer.from([0x4d, 0x3c, 0x2b, 0x1a]),
      Buffer.from([0xa1, 0xb2, 0xc3, 0xd4]),
      Buffer.from([0x86, 0xdd]),
      Buffer.from([0x81, 0x00]),
    ],
    seedProblem: (result) => {
      const { flows, warnings } = result as CaptureReadResult;
      return warnings[0] ?? (flows.length === 0 ? 'no flows' : undefined);
    },
    parse: async (input) => {
      writeFileSync(path, input);
      return readPcap(path, { keyLog });
    },
  };
}

export async function pcapTarget(scratch: string): Promise<FuzzTarget> {
  return captureTarget(scratch, 'pcap', [
    ['pcap-le-us', 'ethernet', conversations(), DATAGRAMS],
    ['pcap-be-ns', 'sll', [V6], []],
    ['pcap-le-us', 'raw', conversations().slice(0, 1), DATAGRAMS.slice(0, 1)],
  ]);
}

export async function pcapngTarget(scratch: string): Promise<FuzzTarget> {
  return captureTarget(scratch, 'pcapng', [
    ['pcapng', 'ethernet', conversations(), DATAGRAMS],
    ['pcapng', 'raw', [V6], DATAGRAMS.slice(1)],
  ]);
}

// ---- HAR ----

const FLOWS: Flow[] = [
  {
    id: 'f1',
    t: Date.UTC(2024, 0, 2, 3, 4, 5),
    protocol: 'https',
    destination: { host: 'bigdata.example', ip: '198.18.0.1', port: 443 },
    request: {
      method: 'POST',
      url: 'https://bigdata.example/upload?imei=490154203237518',
      httpVersion: '1.1',
      headers: [['Content-Type', 'application/octet-stream']],
      body: Buffer.from([0, 1, 2, 0xff]).toString('base64'),
    },
    response: {
      status: 200,
      headers: [['content-type', 'application/json']],
      body: Buffer.from('{"ok":1}').toString('base64'),
    },
  },
  {
    id: 'f2',
    t: Date.UTC(2024, 0, 2, 3, 4, 6),
    protocol: 'http',
    destination: { host: 'cmd.example', ip: '198.18.0.2', port: 8080 },
    request: {
      method: 'GET',
      url: 'http://cmd.example:8080/cmd?x=1',
      httpVersion: '1.1',
      headers: [],
      body: '',
    },
  },
];

/** A browser-style entry whose form is given as params, not as text. */
const FORM_ENTRY = {
  startedDateTime: '2024-01-02T03:04:07.000Z',
  request: {
    method: 'POST',
    url: 'http://form.example/f',
    headers: [],
    postData: {
      mimeType: 'application/x-www-form-urlencoded',
      params: [{ name: 'imsi', value: '001010123456789' }, { name: 'flag' }],
    },
  },
};

export async function harTarget(scratch: string): Promise<FuzzTarget> {
  const path = join(scratch, 'capture.har');
  const written = flowsToHar(FLOWS);
  const form = { log: { version: '1.2', entries: [FORM_ENTRY] } };
  return {
    name: 'har',
    seeds: [written, form].map((document) => ({ bytes: Buffer.from(JSON.stringify(document)) })),
    json: true,
    tokens: ascii('"', '\\', '\\ud800', '{', '}', '[', ']', ',', ':', 'null', '1e999', '"base64"'),
    parse: async (input) => {
      writeFileSync(path, input);
      return readHar(path);
    },
  };
}

// ---- TLS records ----

/** One input holds both directions: a 4-byte length, the client stream, the server stream. */
function tlsInput(upstream: Buffer, downstream: Buffer): FuzzSeed {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(upstream.length);
  const fields = [0];
  for (const [stream, base] of [
    [upstream, 4],
    [downstream, 4 + upstream.length],
  ] as const) {
    for (let at = 0; at + 5 <= stream.length; at += 5 + stream.readUInt16BE(at + 3))
      fields.push(base + at + 3, base + at + 9);
  }
  return { bytes: Buffer.concat([length, upstream, downstream]), fields };
}

export async function tlsTarget(): Promise<FuzzTarget> {
  const { sessions, keyLog } = tlsSessions();
  return {
    name: 'tls',
    seeds: sessions.map((s) => tlsInput(s.upstream, s.downstream)),
    tokens: STREAM_TOKENS,
    seedProblem: (result) => {
      const { decryption } = result as { decryption: TlsDecryption };
      if (!decryption.ok) return `not decrypted: ${decryption.reason}`;
      return decryption.problems[0];
    },
    parse: async (input) => {
      const declared = input.length >= 4 ? input.readUInt32BE(0) : 0;
      const upstream = input.subarray(4, 4 + Math.min(declared, Math.max(0, input.length - 4)));
      const downstream = input.subarray(4 + upstream.length);
      return {
        sni: clientHelloSni(upstream),
        records: splitRecords(downstream).records.length,
        decryption: decryptTls(upstream, downstream, keyLog),
      };
    },
  };
}
