import { createCipheriv, createHash } from 'node:crypto';
import type { KeyLog, SessionSecrets } from '../../src/correlate/readers/tls-keylog.ts';
import {
  cipherSuite,
  nextTrafficSecret,
  tls12Keys,
  tls13Keys,
  type CipherSuite,
  type TrafficKeys,
} from '../../src/correlate/readers/tls-keys.ts';
import { clientHello } from '../fixtures/correlate/pcap-writer.ts';

/**
 * Small TLS sessions, sealed as a client and server would, with the key log that opens them:
 * seeds for fuzzing the record reader and the decryption. Every secret is derived from a label,
 * so the same session comes out on every run (a fixed fuzz seed must mean fixed inputs).
 */

export interface TlsSession {
  upstream: Buffer;
  downstream: Buffer;
  /** Client random (hex) → secrets. */
  secrets: [string, SessionSecrets];
}

const secret = (label: string, length = 32): Buffer =>
  createHash('sha512').update(label).digest().subarray(0, length);

function record(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, 3, 3, body.length >> 8, body.length & 0xff]), body]);
}

function seqNonce(iv: Buffer, seq: number): Buffer {
  const nonce = Buffer.from(iv);
  for (let i = 0; i < 8; i++) nonce[4 + i]! ^= Number((BigInt(seq) >> BigInt(8 * (7 - i))) & 0xffn);
  return nonce;
}

function aead(suite: CipherSuite, keys: TrafficKeys, nonce: Buffer, aad: Buffer, plain: Buffer) {
  const cipher =
    suite.cipher === 'chacha20-poly1305'
      ? createCipheriv(suite.cipher, keys.key, nonce, { authTagLength: 16 })
      : createCipheriv(suite.cipher, keys.key, nonce, { authTagLength: 16 });
  cipher.setAAD(aad, { plaintextLength: plain.length });
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/** A TLS 1.3 record: inner content type, AEAD over the outer header. */
function seal13(
  suite: CipherSuite,
  secretBytes: Buffer,
  seq: number,
  type: number,
  content: Buffer,
) {
  const keys = tls13Keys(suite, secretBytes);
  const inner = Buffer.concat([content, Buffer.from([type])]);
  const header = Buffer.from([23, 3, 3, (inner.length + 16) >> 8, (inner.length + 16) & 0xff]);
  return Buffer.concat([header, aead(suite, keys, seqNonce(keys.iv, seq), header, inner)]);
}

function serverHello(suiteId: number, random: Buffer, tls13: boolean): Buffer {
  const extensions = tls13 ? Buffer.from([0, 6, 0, 43, 0, 2, 3, 4]) : Buffer.alloc(0);
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    random,
    Buffer.from([0, suiteId >> 8, suiteId & 0xff, 0]),
    extensions,
  ]);
  return record(
    22,
    Buffer.concat([Buffer.from([2, 0, body.length >> 8, body.length & 0xff]), body]),
  );
}

/**
 * The fixture's ClientHello record (its trailing filler dropped) with a client random of its
 * own, so that each session has its own line in the key log.
 */
function hello(sni: string, label: string): { record: Buffer; random: Buffer } {
  const bytes = clientHello(sni);
  const helloRecord = Buffer.from(bytes.subarray(0, 5 + bytes.readUInt16BE(3)));
  secret(`client random ${label}`).copy(helloRecord, 11);
  return { record: helloRecord, random: helloRecord.subarray(11, 43) };
}

const REQUEST = Buffer.from(
  'POST /up HTTP/1.1\r\nHost: t.example\r\nContent-Length: 4\r\n\r\nimei',
);
const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
const CCS = record(20, Buffer.from([1]));

/** TLS 1.3: handshake secret, traffic secret 0, a KeyUpdate, then the next traffic secret. */
export function tls13Session(suiteId: 0x1301 | 0x1302 | 0x1303): TlsSession {
  const suite = cipherSuite(suiteId)!;
  const { record: clientRecord, random } = hello('t.example', String(suiteId));
  const hashLength = suite.hash === 'sha384' ? 48 : 32;
  const s = (label: string) => secret(`${suiteId} ${label}`, hashLength);
  const [clientHandshake, clientTraffic0] = [s('c hs'), s('c ap')];
  const [serverHandshake, serverTraffic0] = [s('s hs'), s('s ap')];
  const finished = Buffer.concat([Buffer.from([20, 0, 0, hashLength]), s('finished')]);
  const upstream = Buffer.concat([
    clientRecord,
    CCS,
    seal13(suite, clientHandshake, 0, 22, finished),
    seal13(suite, clientTraffic0, 0, 23, REQUEST.subarray(0, 20)),
    seal13(suite, clientTraffic0, 1, 22, Buffer.from([24, 0, 0, 1, 0])),
    seal13(suite, nextTrafficSecret(suite, clientTraffic0), 0, 23, REQUEST.subarray(20)),
  ]);
  const downstream = Buffer.concat([
    serverHello(suiteId, secret(`${suiteId} server random`), true),
    CCS,
    seal13(suite, serverHandshake, 0, 22, finished),
    seal13(suite, serverTraffic0, 0, 23, RESPONSE),
  ]);
  return {
    upstream,
    downstream,
    secrets: [
      random.toString('hex'),
      { clientHandshake, clientTraffic0, serverHandshake, serverTraffic0 },
    ],
  };
}

/** TLS 1.2 with an AEAD suite: everything after each side's ChangeCipherSpec, seq from 0. */
export function tls12Session(suiteId: 0xc02f | 0xc030 | 0xcca8): TlsSession {
  const suite = cipherSuite(suiteId)!;
  const { record: clientRecord, random } = hello('t12.example', String(suiteId));
  const serverRandom = secret(`${suiteId} server random`);
  const masterSecret = secret(`${suiteId} master`, 48);
  const keys = tls12Keys(suite, masterSecret, random, serverRandom);
  const seal = (side: TrafficKeys, seq: number, type: number, plain: Buffer): Buffer => {
    const seqBytes = Buffer.alloc(8);
    seqBytes.writeBigUInt64BE(BigInt(seq));
    const aad = Buffer.concat([
      seqBytes,
      Buffer.from([type, 3, 3, plain.length >> 8, plain.length & 0xff]),
    ]);
    if (suite.ivLength === 4) {
      const explicit = secret(`${suiteId} explicit ${seq} ${type}`, 8);
      const nonce = Buffer.concat([side.iv, explicit]);
      return record(type, Buffer.concat([explicit, aead(suite, side, nonce, aad, plain)]));
    }
    return record(type, aead(suite, side, seqNonce(side.iv, seq), aad, plain));
  };
  const finished = Buffer.concat([Buffer.from([20, 0, 0, 12]), secret('verify', 12)]);
  return {
    upstream: Buffer.concat([
      clientRecord,
      CCS,
      seal(keys.client, 0, 22, finished),
      seal(keys.client, 1, 23, REQUEST),
    ]),
    downstream: Buffer.concat([
      serverHello(suiteId, serverRandom, false),
      CCS,
      seal(keys.server, 0, 22, finished),
      seal(keys.server, 1, 23, RESPONSE),
    ]),
    secrets: [random.toString('hex'), { masterSecret }],
  };
}

/** Sessions of every kind the decryption supports, and one key log that opens them all. */
export function tlsSessions(): { sessions: TlsSession[]; keyLog: KeyLog } {
  const sessions = [
    tls13Session(0x1301),
    tls13Session(0x1302),
    tls13Session(0x1303),
    tls12Session(0xc02f),
    tls12Session(0xc030),
    tls12Session(0xcca8),
  ];
  return { sessions, keyLog: new Map(sessions.map((s) => s.secrets)) };
}
