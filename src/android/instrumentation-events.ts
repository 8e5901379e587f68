import { z } from 'zod';

/**
 * The instrumentation event schema: one definition for Frida agents, the lab phone and the
 * correlator. Written as JSON Lines, one event per line. Bytes are base64 strings.
 */
const base = {
  /** Milliseconds since the epoch, device clock. */
  t: z.number(),
  source: z.enum(['frida', 'lab']),
  pid: z.number().int(),
  package: z.string(),
  /** A short Java stack, where it was cheap to take. */
  stack: z.array(z.string()).optional(),
};

const b64 = z.string();

export const instrumentationEventSchema = z.discriminatedUnion('type', [
  z.object({
    ...base,
    type: z.literal('net.connect'),
    host: z.string().optional(),
    ip: z.string(),
    port: z.number().int(),
  }),
  z.object({
    ...base,
    type: z.literal('net.send'),
    ip: z.string(),
    port: z.number().int(),
    data: b64,
  }),
  z.object({ ...base, type: z.literal('dns.query'), name: z.string() }),
  z.object({
    ...base,
    type: z.literal('tls.write'),
    host: z.string().optional(),
    ip: z.string().optional(),
    port: z.number().int().optional(),
    data: b64,
  }),
  z.object({ ...base, type: z.literal('tls.read'), host: z.string().optional(), data: b64 }),
  z.object({
    ...base,
    type: z.literal('http.request'),
    method: z.string(),
    url: z.string(),
    headers: z.array(z.tuple([z.string(), z.string()])).optional(),
    body: b64.optional(),
  }),
  z.object({
    ...base,
    type: z.literal('crypto.cipher'),
    /** As given to Cipher.getInstance, e.g. `AES/CBC/PKCS5Padding`. */
    algorithm: z.string(),
    mode: z.string().optional(),
    direction: z.enum(['encrypt', 'decrypt']),
    key: b64,
    iv: b64.optional(),
    input: b64,
    output: b64,
  }),
  z.object({
    ...base,
    type: z.literal('crypto.digest'),
    algorithm: z.string(),
    input: b64,
    output: b64,
  }),
  z.object({
    ...base,
    type: z.literal('crypto.mac'),
    algorithm: z.string(),
    key: b64,
    input: b64,
    output: b64,
  }),
  z.object({
    ...base,
    type: z.literal('encode.base64'),
    direction: z.enum(['encode', 'decode']),
    input: b64,
    output: b64,
  }),
  z.object({ ...base, type: z.literal('encode.gzip'), input: b64, output: b64.optional() }),
  z.object({
    ...base,
    type: z.literal('source.read'),
    /**
     * What was read: a content URI (`content://sms/inbox`) or a getter
     * (`TelephonyManager.getImei`). Named `from` so it does not shadow the base `source`.
     */
    from: z.string(),
    /** What the read returned, as text, where it is short enough to keep. */
    value: z.string().optional(),
  }),
  z.object({
    ...base,
    type: z.literal('sms.send'),
    destination: z.string(),
    body: z.string().optional(),
    data: b64.optional(),
  }),
  z.object({ ...base, type: z.literal('exec'), command: z.string() }),
  z.object({
    ...base,
    type: z.literal('package.install'),
    target: z.string(),
    path: z.string().optional(),
  }),
  z.object({ ...base, type: z.literal('package.remove'), target: z.string() }),
  /**
   * Lab phone only: a behaviour's trigger fired but its `when` setting (a consent) did not hold,
   * so nothing was sent. Lets a report say what was held back and why.
   */
  z.object({
    ...base,
    type: z.literal('behaviour.skip'),
    behaviour: z.string(),
    /** The trigger that fired: `boot`, `alarm`, `job`, `sms-received`, `setting`. */
    trigger: z.string(),
    reason: z.string(),
    setting: z
      .object({
        namespace: z.string(),
        key: z.string(),
        equals: z.string(),
        /** The value it held; absent when unset. */
        value: z.string().optional(),
      })
      .optional(),
  }),
]);

export type InstrumentationEvent = z.infer<typeof instrumentationEventSchema>;
export type InstrumentationEventType = InstrumentationEvent['type'];
export type EventOf<T extends InstrumentationEventType> = Extract<
  InstrumentationEvent,
  { type: T }
>;
