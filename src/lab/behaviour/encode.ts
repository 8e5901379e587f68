import { deflateSync, gzipSync } from 'node:zlib';
import { CanarytrapError } from '../../errors.ts';
import type { EncodeStep } from '../../android/lab-image.ts';
import { b64, type AppEvents } from './app-events.ts';
import { encrypt, planCipher } from './ciphers.ts';

/**
 * Applies the behaviour's encode steps in order to the payload bytes and states each step a
 * hook would see as an event: `encode.gzip` (GZIPOutputStream), `encode.base64`
 * (android.util.Base64), `crypto.cipher` (Cipher.doFinal). Deflate and hex have no hook event:
 * on a real device they are plain Java code the hooks do not watch.
 */
export function applyEncoding(
  steps: readonly EncodeStep[],
  input: Buffer,
  events: AppEvents,
): Buffer {
  let bytes = input;
  for (const step of steps) bytes = applyStep(step, bytes, events);
  return bytes;
}

function applyStep(step: EncodeStep, input: Buffer, events: AppEvents): Buffer {
  switch (step.op) {
    case 'gzip': {
      const output = gzipSync(input);
      events.emit({ type: 'encode.gzip', input: b64(input), output: b64(output) });
      return output;
    }
    case 'deflate':
      // java.util.zip.Deflater's default output is the zlib format, as deflateSync writes it.
      return deflateSync(input);
    case 'base64': {
      const output = Buffer.from(
        input.toString(step.urlSafe === true ? 'base64url' : 'base64'),
        'latin1',
      );
      events.emit({
        type: 'encode.base64',
        direction: 'encode',
        input: b64(input),
        output: b64(output),
      });
      return output;
    }
    case 'hex':
      return Buffer.from(input.toString('hex'), 'latin1');
    case 'aes':
    case 'des':
    case '3des': {
      const plan = planCipher(step);
      // startBehaviours validated every step; reaching this means the image changed under us.
      if (typeof plan === 'string')
        throw new CanarytrapError('lab-image-invalid', plan, { permanent: true });
      const output = encrypt(plan, input);
      events.emit({
        type: 'crypto.cipher',
        algorithm: plan.javaAlgorithm,
        mode: plan.mode,
        direction: 'encrypt',
        key: b64(plan.key),
        ...(plan.iv === undefined ? {} : { iv: b64(plan.iv) }),
        input: b64(input),
        output: b64(output),
      });
      return output;
    }
  }
}

/** Whether the encoded payload is text (JSON, base64, hex) rather than arbitrary bytes. */
export function encodesToText(steps: readonly EncodeStep[]): boolean {
  const last = steps.at(-1);
  return last === undefined || last.op === 'base64' || last.op === 'hex';
}

/** Whether the encoded payload can stand in DNS labels: hex or URL-safe base64 only. */
export function encodesToDnsLabels(steps: readonly EncodeStep[]): boolean {
  const last = steps.at(-1);
  return (
    last !== undefined && (last.op === 'hex' || (last.op === 'base64' && last.urlSafe === true))
  );
}
