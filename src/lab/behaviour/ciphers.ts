import { createCipheriv, type CipherGCM } from 'node:crypto';
import type { EncodeStep } from '../../android/lab-image.ts';

export type CipherStep = Extract<EncodeStep, { op: 'aes' | 'des' | '3des' }>;

/** One cipher step resolved to what Java names it and what node runs. */
export interface CipherPlan {
  /** As an app passes it to Cipher.getInstance, e.g. `AES/CBC/PKCS5Padding`. */
  javaAlgorithm: string;
  mode: CipherStep['mode'];
  /** The key as the app holds it (8 bytes for DES, even though node runs it as 3DES). */
  key: Buffer;
  iv: Buffer | undefined;
  /** The OpenSSL cipher node runs. */
  nodeCipher: string;
  nodeKey: Buffer;
  /** GCM: Java appends the 16-byte tag to the ciphertext. */
  appendTag: boolean;
}

/**
 * Resolves a cipher step, or says in one sentence why the image's parameters cannot run (wrong
 * key or IV length). Single DES runs as DES-EDE3 with the key repeated three times, which is the
 * same function (E_k(D_k(E_k(x))) = E_k(x)): OpenSSL 3 moved plain DES into its legacy provider,
 * which node does not load by default, and 3DES is in the default provider.
 */
export function planCipher(step: CipherStep): CipherPlan | string {
  const key = Buffer.from(step.keyHex, 'hex');
  const iv = step.ivHex === undefined ? undefined : Buffer.from(step.ivHex, 'hex');
  const ivProblem = checkIv(step, iv);
  if (ivProblem !== undefined) return ivProblem;
  const blockMode = step.mode.toUpperCase();
  switch (step.op) {
    case 'aes': {
      if (![16, 24, 32].includes(key.length))
        return `an AES key is 16, 24 or 32 bytes, this one is ${key.length}`;
      const padding = step.mode === 'ecb' || step.mode === 'cbc' ? 'PKCS5Padding' : 'NoPadding';
      return {
        javaAlgorithm: `AES/${blockMode}/${padding}`,
        mode: step.mode,
        key,
        iv,
        nodeCipher: `aes-${key.length * 8}-${step.mode}`,
        nodeKey: key,
        appendTag: step.mode === 'gcm',
      };
    }
    case 'des':
      if (key.length !== 8) return `a DES key is 8 bytes, this one is ${key.length}`;
      return {
        javaAlgorithm: `DES/${blockMode}/PKCS5Padding`,
        mode: step.mode,
        key,
        iv,
        nodeCipher: step.mode === 'cbc' ? 'des-ede3-cbc' : 'des-ede3',
        nodeKey: Buffer.concat([key, key, key]),
        appendTag: false,
      };
    case '3des':
      // DESedeKeySpec takes 24 bytes; two-key 3DES keys are expanded by the app, not by Java.
      if (key.length !== 24) return `a DESede key is 24 bytes, this one is ${key.length}`;
      return {
        javaAlgorithm: `DESede/${blockMode}/PKCS5Padding`,
        mode: step.mode,
        key,
        iv,
        nodeCipher: step.mode === 'cbc' ? 'des-ede3-cbc' : 'des-ede3',
        nodeKey: key,
        appendTag: false,
      };
  }
}

function checkIv(step: CipherStep, iv: Buffer | undefined): string | undefined {
  if (step.mode === 'ecb') return iv === undefined ? undefined : 'ECB takes no IV: remove ivHex';
  if (iv === undefined) return `${step.mode.toUpperCase()} needs an IV: add ivHex`;
  const block = step.op === 'aes' ? 16 : 8;
  if (step.mode === 'gcm')
    return iv.length >= 1 ? undefined : 'GCM needs a non-empty IV (12 bytes is usual)';
  return iv.length === block
    ? undefined
    : `the IV is ${block} bytes for this cipher, this one is ${iv.length}`;
}

/** Encrypts as the Java cipher would: PKCS#5 padding for ECB and CBC, the GCM tag appended. */
export function encrypt(plan: CipherPlan, input: Buffer): Buffer {
  const cipher = createCipheriv(plan.nodeCipher, plan.nodeKey, plan.iv ?? null);
  const output = Buffer.concat([cipher.update(input), cipher.final()]);
  if (!plan.appendTag) return output;
  return Buffer.concat([output, (cipher as CipherGCM).getAuthTag()]);
}
