import { createDecipheriv } from 'node:crypto';
import type { KeyLog } from './tls-keylog.ts';
import {
  cipherSuite,
  nextTrafficSecret,
  tls12Keys,
  tls13Keys,
  type CipherSuite,
  type TrafficKeys,
} from './tls-keys.ts';
import { clientRandom, CONTENT, serverHello, splitRecords, type TlsRecord } from './tls-records.ts';

/**
 * Decrypts a captured TLS connection with secrets from a key log: the application data each side
 * sent, in order. Only AEAD suites (AES-GCM, ChaCha20-Poly1305) exist in TLS 1.3 and in what
 * current clients offer for 1.2, so only those are supported.
 */
export type TlsDecryption =
  | { ok: true; suite: string; upstream: Buffer; downstream: Buffer; problems: string[] }
  | { ok: false; reason: string };

const TAG = 16;

function seqBytes(seq: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(seq));
  return out;
}

function xorNonce(iv: Buffer, seq: number): Buffer {
  const nonce = Buffer.from(iv);
  const s = seqBytes(seq);
  for (let i = 0; i < 8; i++) nonce[4 + i]! ^= s[i]!;
  return nonce;
}

function open(
  suite: CipherSuite,
  keys: TrafficKeys,
  nonce: Buffer,
  aad: Buffer,
  sealed: Buffer,
): Buffer | undefined {
  if (sealed.length < TAG) return undefined;
  try {
    // Two identical calls because node's typings pick the overload by cipher family.
    const decipher =
      suite.cipher === 'chacha20-poly1305'
        ? createDecipheriv(suite.cipher, keys.key, nonce, { authTagLength: TAG })
        : createDecipheriv(suite.cipher, keys.key, nonce, { authTagLength: TAG });
    decipher.setAAD(aad, { plaintextLength: sealed.length - TAG });
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
    return Buffer.concat([
      decipher.update(sealed.subarray(0, sealed.length - TAG)),
      decipher.final(),
    ]);
  } catch {
    // An authentication failure is an answer here (wrong key or phase), not an error.
    return undefined;
  }
}

/** TLS 1.2: everything after the side's ChangeCipherSpec is encrypted with one key, seq from 0. */
function tls12Direction(suite: CipherSuite, keys: TrafficKeys, records: TlsRecord[]) {
  const data: Buffer[] = [];
  const problems: string[] = [];
  const start = records.findIndex((r) => r.type === CONTENT.changeCipherSpec);
  if (start < 0) return { data, problems };
  records.slice(start + 1).forEach((record, seq) => {
    const explicit = suite.ivLength === 4;
    const nonce = explicit
      ? Buffer.concat([keys.iv, record.fragment.subarray(0, 8)])
      : xorNonce(keys.iv, seq);
    const sealed = explicit ? record.fragment.subarray(8) : record.fragment;
    const aad = Buffer.concat([
      seqBytes(seq),
      record.header.subarray(0, 3),
      Buffer.from([(sealed.length - TAG) >> 8, (sealed.length - TAG) & 0xff]),
    ]);
    const plain = open(suite, keys, nonce, aad, sealed);
    if (!plain) problems.push(`record ${seq} after ChangeCipherSpec does not authenticate`);
    else if (record.type === CONTENT.applicationData) data.push(plain);
  });
  return { data, problems };
}

/**
 * TLS 1.3: encrypted records use the handshake secret, then traffic secret 0 (then its updates).
 * The capture does not mark where one ends, so a record that fails under the current secret is
 * tried under the next one with the sequence number restarted.
 */
function tls13Direction(suite: CipherSuite, secrets: Buffer[], records: TlsRecord[]) {
  const data: Buffer[] = [];
  const problems: string[] = [];
  const phases = secrets.map((secret) => ({ secret, keys: tls13Keys(suite, secret) }));
  let phase = 0;
  let seq = 0;
  records.forEach((record, index) => {
    if (record.type !== CONTENT.applicationData) return;
    let inner: Buffer | undefined;
    for (let p = phase; p < phases.length && !inner; p++) {
      const s = p === phase ? seq : 0;
      const keys = phases[p]!.keys;
      inner = open(suite, keys, xorNonce(keys.iv, s), record.header, record.fragment);
      if (inner) [phase, seq] = [p, s + 1];
    }
    if (!inner) {
      problems.push(`record ${index} does not authenticate with any logged secret`);
      return;
    }
    let end = inner.length;
    while (end > 0 && inner[end - 1] === 0) end--;
    const type = inner[end - 1];
    const content = inner.subarray(0, end - 1);
    if (type === CONTENT.applicationData) data.push(content);
    // KeyUpdate: the following records use the next secret of this direction.
    if (type === CONTENT.handshake && content[0] === 24 && phase === phases.length - 1) {
      const current = phases[phase]!;
      const secret = nextTrafficSecret(suite, current.secret);
      phases.push({ secret, keys: tls13Keys(suite, secret) });
      [phase, seq] = [phase + 1, 0];
    }
  });
  return { data, problems };
}

export function decryptTls(upstream: Buffer, downstream: Buffer, keyLog: KeyLog): TlsDecryption {
  const up = splitRecords(upstream);
  const down = splitRecords(downstream);
  const random = clientRandom(up.records);
  if (!random) return { ok: false, reason: 'no complete ClientHello in the capture' };
  const secrets = keyLog.get(random.toString('hex'));
  if (!secrets)
    return { ok: false, reason: `no key log entry for client random ${random.toString('hex')}` };
  const hello = serverHello(down.records);
  if (!hello) return { ok: false, reason: 'no ServerHello in the capture' };
  const suite = cipherSuite(hello.cipherSuite);
  if (!suite || suite.tls13 !== hello.tls13)
    return {
      ok: false,
      reason: `cipher suite 0x${hello.cipherSuite.toString(16).padStart(4, '0')} cannot be decrypted (AES-GCM and ChaCha20-Poly1305 only)`,
    };
  let client: { data: Buffer[]; problems: string[] };
  let server: { data: Buffer[]; problems: string[] };
  if (suite.tls13) {
    const clientSecrets = [secrets.clientHandshake, secrets.clientTraffic0];
    const serverSecrets = [secrets.serverHandshake, secrets.serverTraffic0];
    if (!secrets.clientTraffic0)
      return { ok: false, reason: 'the key log has no CLIENT_TRAFFIC_SECRET_0 for this session' };
    client = tls13Direction(suite, clientSecrets.filter(isBuffer), up.records);
    server = tls13Direction(suite, serverSecrets.filter(isBuffer), down.records);
    // Without the handshake secret the client's Finished cannot be read; that loses nothing.
    if (!secrets.clientHandshake) client.problems.splice(0, 1);
  } else {
    if (!secrets.masterSecret)
      return { ok: false, reason: 'the key log has no CLIENT_RANDOM line for this session' };
    const keys = tls12Keys(suite, secrets.masterSecret, random, hello.random);
    client = tls12Direction(suite, keys.client, up.records);
    server = tls12Direction(suite, keys.server, down.records);
  }
  // A wrong key fails every record: one line says so, not one per record.
  const problems = client.problems.slice(0, 1).map((p) => `client→server ${p}`);
  if (client.problems.length > 1)
    problems.push(`client→server: ${client.problems.length - 1} more records do not authenticate`);
  if (up.truncated) problems.push('client→server stream ends inside a record');
  if (server.problems.length > 0 && server.data.length === 0)
    problems.push(`server→client ${server.problems[0]!}`);
  return {
    ok: true,
    suite: suite.name,
    upstream: Buffer.concat(client.data),
    downstream: Buffer.concat(server.data),
    problems,
  };
}

function isBuffer(value: Buffer | undefined): value is Buffer {
  return value !== undefined;
}
