import { base64, concatBytes, isByteArray, toBytes, utf8 } from '../bytes.ts';
import type { AgentContext } from '../context.ts';
import type { JavaWrapper } from '../frida.ts';
import { callMethod, classNameOf, observe, type HookedCall } from '../java.ts';

interface CipherState {
  direction: 'encrypt' | 'decrypt';
  key: Uint8Array;
  iv?: Uint8Array;
  input: Uint8Array[];
  output: Uint8Array[];
}

const ENCRYPT_MODE = 1;
const DECRYPT_MODE = 2;

/** The bytes of a call's input array, honouring the (array, offset, length) overloads. */
function inputOf(args: unknown[]): Uint8Array | undefined {
  const [data, offset, length] = args;
  if (!isByteArray(data)) return undefined;
  if (typeof offset === 'number' && typeof length === 'number')
    return toBytes(data, offset, length);
  return toBytes(data);
}

function keyBytes(context: AgentContext, key: unknown, known: Map<number, Uint8Array>): Uint8Array {
  if (!key || typeof key !== 'object') return new Uint8Array();
  const remembered = known.get(context.objectId(key as JavaWrapper));
  if (remembered) return remembered;
  const encoded = callMethod(key as JavaWrapper, 'getEncoded');
  return isByteArray(encoded) ? toBytes(encoded) : new Uint8Array();
}

function ivOf(spec: unknown): Uint8Array | undefined {
  if (!spec || typeof spec !== 'object' || typeof (spec as JavaWrapper)['getIV'] !== 'function')
    return undefined;
  const iv = callMethod(spec as JavaWrapper, 'getIV');
  return isByteArray(iv) ? toBytes(iv) : undefined;
}

/** `AES/CBC/PKCS5Padding` → `CBC`. */
function modeOf(algorithm: string): string | undefined {
  return algorithm.split('/')[1] || undefined;
}

/**
 * Cipher, Mac, MessageDigest, SecretKeySpec: what was encrypted, with which key and IV, and
 * what came out — so the correlator can decrypt what the wire carried.
 */
export function installCryptoHooks(context: AgentContext): void {
  const { java } = context;
  const ciphers = new Map<number, CipherState>();
  const specKeys = new Map<number, Uint8Array>();

  // Remembering SecretKeySpec bytes keeps the key even where a provider's key object hides it.
  observe(java, 'javax.crypto.spec.SecretKeySpec', '$init', (call) => {
    const key = inputOf(
      call.args.length >= 4 ? [call.args[0], call.args[1], call.args[2]] : [call.args[0]],
    );
    if (key) specKeys.set(context.objectId(call.self), key);
  });

  observe(java, 'javax.crypto.Cipher', 'init', (call) => {
    const [opmode, key, spec] = call.args;
    if (opmode !== ENCRYPT_MODE && opmode !== DECRYPT_MODE) return;
    const iv = ivOf(spec) ?? ivOf(call.self);
    ciphers.set(context.objectId(call.self), {
      direction: opmode === ENCRYPT_MODE ? 'encrypt' : 'decrypt',
      key: keyBytes(context, key, specKeys),
      ...(iv ? { iv } : {}),
      input: [],
      output: [],
    });
  });

  const collect = (call: HookedCall, result: unknown): CipherState | undefined => {
    const state = ciphers.get(context.objectId(call.self));
    if (!state) return undefined;
    const input = inputOf(call.args);
    if (input) state.input.push(input);
    if (isByteArray(result)) state.output.push(toBytes(result));
    return state;
  };

  observe(java, 'javax.crypto.Cipher', 'update', (call, result) => {
    collect(call, result);
  });
  observe(java, 'javax.crypto.Cipher', 'doFinal', (call, result) => {
    const state = collect(call, result);
    if (!state) return;
    const algorithm = String(callMethod(call.self, 'getAlgorithm'));
    const mode = modeOf(algorithm);
    context.emit(
      {
        type: 'crypto.cipher',
        algorithm,
        ...(mode ? { mode } : {}),
        direction: state.direction,
        key: base64(state.key),
        ...(state.iv ? { iv: base64(state.iv) } : {}),
        input: base64(concatBytes(state.input)),
        output: base64(concatBytes(state.output)),
      },
      true,
    );
    // A Cipher is reusable after doFinal with the same key: keep key and IV, drop the data.
    state.input = [];
    state.output = [];
  });

  installMacHooks(context);
  installDigestHooks(context);
}

function installMacHooks(context: AgentContext): void {
  const macs = new Map<number, { key: Uint8Array; input: Uint8Array[] }>();
  observe(context.java, 'javax.crypto.Mac', 'init', (call) => {
    macs.set(context.objectId(call.self), {
      key: keyBytes(context, call.args[0], new Map()),
      input: [],
    });
  });
  observe(context.java, 'javax.crypto.Mac', 'update', (call) => {
    const input = inputOf(call.args);
    if (input) macs.get(context.objectId(call.self))?.input.push(input);
  });
  observe(context.java, 'javax.crypto.Mac', 'doFinal', (call, result) => {
    const state = macs.get(context.objectId(call.self));
    if (!state || !isByteArray(result)) return;
    const input = inputOf(call.args);
    if (input) state.input.push(input);
    context.emit({
      type: 'crypto.mac',
      algorithm: String(callMethod(call.self, 'getAlgorithm')),
      key: base64(state.key),
      input: base64(concatBytes(state.input)),
      output: base64(toBytes(result)),
    });
    state.input = [];
  });
}

function installDigestHooks(context: AgentContext): void {
  const pending = new Map<number, Uint8Array[]>();
  observe(context.java, 'java.security.MessageDigest', 'update', (call) => {
    const input = inputOf(call.args);
    if (!input) return;
    const id = context.objectId(call.self);
    pending.set(id, [...(pending.get(id) ?? []), input]);
  });
  observe(context.java, 'java.security.MessageDigest', 'digest', (call, result) => {
    if (!isByteArray(result)) return;
    const id = context.objectId(call.self);
    const input = inputOf(call.args);
    const parts = [...(pending.get(id) ?? []), ...(input ? [input] : [])];
    pending.delete(id);
    context.emit({
      type: 'crypto.digest',
      algorithm: String(callMethod(call.self, 'getAlgorithm')),
      input: base64(concatBytes(parts)),
      output: base64(toBytes(result)),
    });
  });
}

/** Encoders: Base64 (android.util and java.util), GZIPOutputStream and Deflater. */
export function installEncodingHooks(context: AgentContext): void {
  const { java } = context;
  const asBytes = (value: unknown): Uint8Array | undefined =>
    typeof value === 'string' ? utf8(value) : isByteArray(value) ? toBytes(value) : undefined;
  const base64Event = (direction: 'encode' | 'decode') => (call: HookedCall, result: unknown) => {
    const input = asBytes(call.args[0]);
    const output = asBytes(result);
    if (!input || !output) return;
    context.emit({
      type: 'encode.base64',
      direction,
      input: base64(input),
      output: base64(output),
    });
  };
  for (const method of ['encode', 'encodeToString'])
    observe(java, 'android.util.Base64', method, base64Event('encode'));
  observe(java, 'android.util.Base64', 'decode', base64Event('decode'));
  for (const method of ['encode', 'encodeToString'])
    observe(java, 'java.util.Base64$Encoder', method, base64Event('encode'));
  observe(java, 'java.util.Base64$Decoder', 'decode', base64Event('decode'));

  const streams = new Map<number, Uint8Array[]>();
  let insideGzip = 0;
  observe(java, 'java.util.zip.GZIPOutputStream', 'write', (call) => {
    const input = inputOf(call.args);
    if (!input) return;
    const id = context.objectId(call.self);
    streams.set(id, [...(streams.get(id) ?? []), input]);
  });
  observe(java, 'java.util.zip.GZIPOutputStream', 'finish', (call) => {
    const id = context.objectId(call.self);
    const parts = streams.get(id);
    streams.delete(id);
    if (parts) context.emit({ type: 'encode.gzip', input: base64(concatBytes(parts)) });
  });
  // GZIPOutputStream feeds its own Deflater: count the depth so its input is reported once.
  hookDepth(context, 'java.util.zip.GZIPOutputStream', 'write', (delta) => (insideGzip += delta));
  observe(java, 'java.util.zip.Deflater', 'setInput', (call) => {
    if (insideGzip > 0 || classNameOf(call.self) === 'java.util.zip.GZIPOutputStream') return;
    const input = inputOf(call.args);
    if (input) context.emit({ type: 'encode.gzip', input: base64(input) });
  });
}

/** Wraps an already hooked method to track re-entrancy on this thread. */
function hookDepth(
  context: AgentContext,
  className: string,
  method: string,
  step: (delta: number) => void,
): void {
  const cls = context.java.use(className);
  const wrapper = cls[method] as
    { overloads?: { implementation: ((...a: unknown[]) => unknown) | null }[] } | undefined;
  for (const overload of wrapper?.overloads ?? []) {
    const inner = overload.implementation;
    if (!inner) continue;
    overload.implementation = function (this: unknown, ...args: unknown[]) {
      step(1);
      try {
        return inner.apply(this, args);
      } finally {
        step(-1);
      }
    };
  }
}
