import { createDecipheriv, type DecipherGCM } from 'node:crypto';
import type { EventOf, InstrumentationEvent } from '../android/instrumentation-events.ts';
import { printableRatio } from './bytes.ts';

/**
 * Encryption seen by the hooks, used two ways: a wire payload equal to (an encoding of) a
 * `crypto.cipher` output is that event's plaintext; and wire blobs are decrypted with every
 * key and IV the events reported.
 */
export interface CipherKey {
  /** Name for the transform chain: 'aes-128-cbc', 'des-ecb', '3des-cbc', 'aes-256-gcm'. */
  name: string;
  nodeAlgorithm: string;
  mode: 'ecb' | 'cbc' | 'ctr' | 'gcm';
  key: Buffer;
  iv: Buffer | undefined;
  padding: boolean;
  blockSize: number;
  eventIndex: number;
}

export interface CipherOutput {
  eventIndex: number;
  name: string;
  output: Buffer;
  input: Buffer;
}

function parseCipher(event: EventOf<'crypto.cipher'>, eventIndex: number): CipherKey | undefined {
  const [family = '', modeText, paddingText] = event.algorithm
    .split('/')
    .map((s) => s.trim().toLowerCase());
  const key = Buffer.from(event.key, 'base64');
  const iv = event.iv === undefined ? undefined : Buffer.from(event.iv, 'base64');
  const mode = (event.mode ?? modeText ?? 'ecb').toLowerCase();
  if (mode !== 'ecb' && mode !== 'cbc' && mode !== 'ctr' && mode !== 'gcm') return undefined;
  const padding = mode === 'ecb' || mode === 'cbc' ? paddingText !== 'nopadding' : false;
  if (family === 'aes') {
    if (![16, 24, 32].includes(key.length)) return undefined;
    const name = `aes-${key.length * 8}-${mode}`;
    return { name, nodeAlgorithm: name, mode, key, iv, padding, blockSize: 16, eventIndex };
  }
  if (mode === 'ctr' || mode === 'gcm') return undefined;
  const suffix = mode === 'ecb' ? '' : '-cbc';
  if (family === 'des' && key.length === 8) {
    // OpenSSL 3 ships single DES only in its legacy provider; EDE3 with K1=K2=K3 is single DES.
    const key3 = Buffer.concat([key, key, key]);
    return {
      name: `des-${mode}`,
      nodeAlgorithm: `des-ede3${suffix}`,
      mode,
      key: key3,
      iv,
      padding,
      blockSize: 8,
      eventIndex,
    };
  }
  if (
    (family === 'desede' || family === 'tripledes' || family === '3des') &&
    (key.length === 24 || key.length === 16)
  ) {
    const key3 = key.length === 16 ? Buffer.concat([key, key.subarray(0, 8)]) : key;
    return {
      name: `3des-${mode}`,
      nodeAlgorithm: `des-ede3${suffix}`,
      mode,
      key: key3,
      iv,
      padding,
      blockSize: 8,
      eventIndex,
    };
  }
  return undefined;
}

export function cipherMaterial(events: readonly InstrumentationEvent[]): {
  keys: CipherKey[];
  outputs: CipherOutput[];
  warnings: string[];
} {
  const keys: CipherKey[] = [];
  const outputs: CipherOutput[] = [];
  const warnings: string[] = [];
  const seen = new Set<string>();
  events.forEach((event, index) => {
    if (event.type !== 'crypto.cipher') return;
    const parsed = parseCipher(event, index);
    if (!parsed) {
      warnings.push(
        `event ${index}: cipher ${event.algorithm} with a ${Buffer.from(event.key, 'base64').length}-byte key is not supported for decryption`,
      );
      return;
    }
    const id = `${parsed.nodeAlgorithm}|${parsed.key.toString('hex')}|${parsed.iv?.toString('hex') ?? ''}`;
    if (!seen.has(id)) {
      seen.add(id);
      keys.push(parsed);
    }
    if (event.direction === 'encrypt') {
      outputs.push({
        eventIndex: index,
        name: parsed.name,
        output: Buffer.from(event.output, 'base64'),
        input: Buffer.from(event.input, 'base64'),
      });
    }
  });
  return { keys, outputs, warnings };
}

function decryptWith(key: CipherKey, iv: Buffer | undefined, data: Buffer): Buffer | undefined {
  try {
    if (key.mode === 'gcm') {
      if (iv === undefined || data.length < 17) return undefined;
      const decipher = createDecipheriv(key.nodeAlgorithm, key.key, iv) as DecipherGCM;
      // Java appends the 16-byte tag to the ciphertext.
      decipher.setAuthTag(data.subarray(data.length - 16));
      return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]);
    }
    if (key.mode !== 'ctr' && data.length % key.blockSize !== 0) return undefined;
    if (
      key.mode !== 'ecb' &&
      (iv === undefined || iv.length !== (key.mode === 'ctr' ? 16 : key.blockSize))
    )
      return undefined;
    const decipher = createDecipheriv(
      key.nodeAlgorithm,
      key.key,
      key.mode === 'ecb' ? null : (iv ?? null),
    );
    decipher.setAutoPadding(key.padding);
    return Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    // Wrong key, padding or tag: this blob is not encrypted with this key.
    return undefined;
  }
}

/** Plaintext is only believed without a padding or tag check when it reads as text or compressed data. */
function plausible(key: CipherKey, plain: Buffer): boolean {
  if (plain.length === 0) return false;
  if (key.mode === 'gcm' || key.padding) return true;
  if (plain[0] === 0x1f && plain[1] === 0x8b) return true;
  return printableRatio(plain, 256) >= 0.95;
}

/** Every decryption of `blob` with a reported key: with the event's IV, or an IV sent in front. */
export function tryDecrypt(
  blob: Buffer,
  keys: readonly CipherKey[],
): Array<{ name: string; plaintext: Buffer }> {
  const results: Array<{ name: string; plaintext: Buffer }> = [];
  if (blob.length < 8) return results;
  for (const key of keys) {
    const attempts: Array<[Buffer | undefined, Buffer, string]> = [[key.iv, blob, key.name]];
    if (key.mode !== 'ecb') {
      const ivLength =
        key.mode === 'gcm' ? (key.iv?.length ?? 12) : key.mode === 'ctr' ? 16 : key.blockSize;
      if (blob.length > ivLength + 8)
        attempts.push([blob.subarray(0, ivLength), blob.subarray(ivLength), key.name]);
    }
    for (const [iv, data, name] of attempts) {
      const plain = decryptWith(key, iv, data);
      if (plain && plausible(key, plain)) {
        results.push({ name, plaintext: plain });
        break;
      }
    }
  }
  return results;
}
