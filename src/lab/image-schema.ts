import { z } from 'zod';

/**
 * A lab image: declarative firmware behaviours the lab phone runs. New behaviours are data, not
 * code. The file lives in `images/lab/<name>.json`, is built into a real system image (ext4
 * holding build.prop, the apps' APKs and this file at /system/etc/canarytrap/lab-image.json),
 * and the lab phone boots it by reading it back from there.
 */

/** What a behaviour reads from the device before sending. */
export const DATA_ITEMS = [
  'sms',
  'contacts',
  'call_log',
  'imei',
  'imsi',
  'iccid',
  'phone_number',
  'android_id',
  'serial',
  'wifi_mac',
  'location',
  'accounts',
  'build',
] as const;
export type DataItem = (typeof DATA_ITEMS)[number];

const hex = z.string().regex(/^([0-9a-fA-F]{2})+$/, 'hex bytes');

export const encodeStepSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('gzip') }),
  z.object({ op: z.literal('deflate') }),
  z.object({ op: z.literal('base64'), urlSafe: z.boolean().optional() }),
  z.object({ op: z.literal('hex') }),
  z.object({
    op: z.literal('aes'),
    mode: z.enum(['ecb', 'cbc', 'ctr', 'gcm']),
    keyHex: hex,
    ivHex: hex.optional(),
  }),
  z.object({
    op: z.literal('des'),
    mode: z.enum(['ecb', 'cbc']),
    keyHex: hex,
    ivHex: hex.optional(),
  }),
  z.object({
    op: z.literal('3des'),
    mode: z.enum(['ecb', 'cbc']),
    keyHex: hex,
    ivHex: hex.optional(),
  }),
]);
export type EncodeStep = z.infer<typeof encodeStepSchema>;

export const triggerSchema = z.discriminatedUnion('on', [
  /** Once, this many device-clock seconds after boot completes. */
  z.object({ on: z.literal('boot'), delaySeconds: z.number().nonnegative().default(0) }),
  /** An AlarmManager alarm repeating every N hours of device clock; the first after `firstAfterHours` (default N). */
  z.object({
    on: z.literal('alarm'),
    everyHours: z.number().positive(),
    firstAfterHours: z.number().nonnegative().optional(),
  }),
  /** A JobScheduler job with this id, periodic every N hours; `cmd jobscheduler run -f` forces it. */
  z.object({ on: z.literal('job'), jobId: z.number().int(), everyHours: z.number().positive() }),
  /** Each incoming SMS (console `sms send`). */
  z.object({ on: z.literal('sms-received') }),
]);
export type Trigger = z.infer<typeof triggerSchema>;

export const sendSchema = z.discriminatedUnion('channel', [
  z.object({
    channel: z.enum(['https', 'http']),
    host: z.string().min(1),
    port: z.number().int().positive().optional(),
    method: z.enum(['GET', 'POST', 'PUT']).default('POST'),
    path: z.string().startsWith('/'),
    /**
     * How the encoded payload is carried: the whole body, one form field, one JSON field, or
     * (GET) the collected fields as the query string, unencoded.
     */
    carry: z.discriminatedUnion('as', [
      z.object({
        as: z.literal('body'),
        contentType: z.string().default('application/octet-stream'),
      }),
      z.object({ as: z.literal('form'), field: z.string() }),
      z.object({ as: z.literal('json'), field: z.string() }),
      z.object({ as: z.literal('query') }),
    ]),
    headers: z.record(z.string()).optional(),
  }),
  z.object({ channel: z.literal('tcp'), host: z.string(), port: z.number().int().positive() }),
  z.object({ channel: z.literal('sms'), destination: z.string() }),
  /** The payload as DNS labels under this zone (hex or base32 encoding steps are expected). */
  z.object({ channel: z.literal('dns'), zone: z.string() }),
]);
export type SendSpec = z.infer<typeof sendSchema>;

export const behaviourSchema = z.object({
  id: z.string().min(1),
  description: z.string(),
  trigger: triggerSchema,
  collect: z.array(z.enum(DATA_ITEMS)),
  /** Constant fields added to the payload (app version, channel ids...). */
  extra: z.record(z.union([z.string(), z.number(), z.boolean()])).optional(),
  /** Applied in order to the JSON-serialised payload. */
  encode: z.array(encodeStepSchema).default([]),
  send: sendSchema,
});
export type Behaviour = z.infer<typeof behaviourSchema>;

export const labAppSchema = z.object({
  package: z.string().regex(/^[a-zA-Z][\w]*(\.[a-zA-Z][\w]*)+$/, 'a Java package name'),
  label: z.string(),
  versionName: z.string(),
  versionCode: z.number().int().nonnegative(),
  /** Where the APK lives in the system image, e.g. /system/priv-app/FotaProvider/FotaProvider.apk. */
  path: z.string().startsWith('/system/'),
  sharedUserId: z.string().optional(),
  permissions: z.array(z.string()).default([]),
  /** Broadcast actions it listens to (android.intent.action.BOOT_COMPLETED...). */
  receivers: z.array(z.string()).default([]),
  behaviours: z.array(behaviourSchema).default([]),
});
export type LabApp = z.infer<typeof labAppSchema>;

export const labImageSchema = z.object({
  version: z.literal(1),
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  description: z.string(),
  build: z.object({
    manufacturer: z.string(),
    brand: z.string(),
    model: z.string(),
    device: z.string(),
    product: z.string(),
    /** Android version, e.g. "6.0". */
    release: z.string(),
    sdk: z.number().int().positive(),
    incremental: z.string(),
    securityPatch: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    abi: z.enum(['x86_64', 'x86', 'arm64-v8a', 'armeabi-v7a']),
    buildType: z.enum(['user', 'userdebug', 'eng']).default('user'),
  }),
  apps: z.array(labAppSchema),
});
export type LabImage = z.infer<typeof labImageSchema>;

/** The path of the behaviour file inside the system partition. */
export const LAB_IMAGE_PATH_IN_SYSTEM = '/etc/canarytrap/lab-image.json';

/** ro.build.fingerprint as Android composes it. */
export function buildFingerprint(build: LabImage['build']): string {
  return `${build.brand}/${build.product}/${build.device}:${build.release}/${build.incremental.split('.')[0] ?? build.incremental}/${build.incremental}:${build.buildType}/release-keys`;
}
