import { createHmac } from 'node:crypto';

/** The AEAD cipher suites whose records can be decrypted, and how their keys are made. */
export interface CipherSuite {
  name: string;
  /** node cipher name. */
  cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
  keyLength: number;
  /** TLS 1.2 AES-GCM: 4 implicit bytes + 8 explicit per record; ChaCha20 and TLS 1.3: 12 fixed. */
  ivLength: number;
  hash: 'sha256' | 'sha384';
  tls13: boolean;
}

const gcm128 = { cipher: 'aes-128-gcm', keyLength: 16, hash: 'sha256' } as const;
const gcm256 = { cipher: 'aes-256-gcm', keyLength: 32, hash: 'sha384' } as const;
const chacha = { cipher: 'chacha20-poly1305', keyLength: 32, hash: 'sha256' } as const;

const SUITES = new Map<number, CipherSuite>([
  [0x1301, { name: 'TLS_AES_128_GCM_SHA256', ...gcm128, ivLength: 12, tls13: true }],
  [0x1302, { name: 'TLS_AES_256_GCM_SHA384', ...gcm256, ivLength: 12, tls13: true }],
  [0x1303, { name: 'TLS_CHACHA20_POLY1305_SHA256', ...chacha, ivLength: 12, tls13: true }],
  [0xc02f, { name: 'ECDHE-RSA-AES128-GCM-SHA256', ...gcm128, ivLength: 4, tls13: false }],
  [0xc030, { name: 'ECDHE-RSA-AES256-GCM-SHA384', ...gcm256, ivLength: 4, tls13: false }],
  [0xc02b, { name: 'ECDHE-ECDSA-AES128-GCM-SHA256', ...gcm128, ivLength: 4, tls13: false }],
  [0xc02c, { name: 'ECDHE-ECDSA-AES256-GCM-SHA384', ...gcm256, ivLength: 4, tls13: false }],
  [0x009c, { name: 'RSA-AES128-GCM-SHA256', ...gcm128, ivLength: 4, tls13: false }],
  [0x009d, { name: 'RSA-AES256-GCM-SHA384', ...gcm256, ivLength: 4, tls13: false }],
  [0x009e, { name: 'DHE-RSA-AES128-GCM-SHA256', ...gcm128, ivLength: 4, tls13: false }],
  [0x009f, { name: 'DHE-RSA-AES256-GCM-SHA384', ...gcm256, ivLength: 4, tls13: false }],
  [0xcca8, { name: 'ECDHE-RSA-CHACHA20-POLY1305', ...chacha, ivLength: 12, tls13: false }],
  [0xcca9, { name: 'ECDHE-ECDSA-CHACHA20-POLY1305', ...chacha, ivLength: 12, tls13: false }],
  [0xccaa, { name: 'DHE-RSA-CHACHA20-POLY1305', ...chacha, ivLength: 12, tls13: false }],
]);

export function cipherSuite(id: number): CipherSuite | undefined {
  return SUITES.get(id);
}

export interface TrafficKeys {
  key: Buffer;
  iv: Buffer;
}

/** TLS 1.2 PRF (RFC 5246 §5): P_hash over HMAC with the suite's hash. */
function prf(hash: string, secret: Buffer, label: string, seed: Buffer, length: number): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
  const out: Buffer[] = [];
  let produced = 0;
  let a = labelSeed;
  while (produced < length) {
    a = createHmac(hash, secret).update(a).digest();
    const block = createHmac(hash, secret).update(a).update(labelSeed).digest();
    out.push(block);
    produced += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** TLS 1.2 client and server write keys and IVs from the master secret (AEAD suites: no MAC keys). */
export function tls12Keys(
  suite: CipherSuite,
  masterSecret: Buffer,
  clientRandom: Buffer,
  serverRandom: Buffer,
): { client: TrafficKeys; server: TrafficKeys } {
  const { keyLength: k, ivLength: v } = suite;
  const block = prf(
    suite.hash,
    masterSecret,
    'key expansion',
    Buffer.concat([serverRandom, clientRandom]),
    2 * k + 2 * v,
  );
  return {
    client: { key: block.subarray(0, k), iv: block.subarray(2 * k, 2 * k + v) },
    server: { key: block.subarray(k, 2 * k), iv: block.subarray(2 * k + v, 2 * k + 2 * v) },
  };
}

/** HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, which is all traffic keys need. */
export function hkdfExpandLabel(
  hash: string,
  secret: Buffer,
  label: string,
  length: number,
): Buffer {
  const fullLabel = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([
    Buffer.from([length >> 8, length & 0xff, fullLabel.length]),
    fullLabel,
    Buffer.from([0]),
  ]);
  const out: Buffer[] = [];
  let previous = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(out).length < length; i++) {
    previous = createHmac(hash, secret)
      .update(previous)
      .update(info)
      .update(Buffer.from([i]))
      .digest();
    out.push(previous);
  }
  return Buffer.concat(out).subarray(0, length);
}

export function tls13Keys(suite: CipherSuite, trafficSecret: Buffer): TrafficKeys {
  return {
    key: hkdfExpandLabel(suite.hash, trafficSecret, 'key', suite.keyLength),
    iv: hkdfExpandLabel(suite.hash, trafficSecret, 'iv', 12),
  };
}

/** The next traffic secret after a KeyUpdate (RFC 8446 §7.2). */
export function nextTrafficSecret(suite: CipherSuite, secret: Buffer): Buffer {
  return hkdfExpandLabel(suite.hash, secret, 'traffic upd', secret.length);
}
