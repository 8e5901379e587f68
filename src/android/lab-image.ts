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

const settingsTableSchema = z.enum(['system', 'secure', 'global']);

/** A value in the device's settings provider, as `settings get <namespace> <key>` reads it. */
export const settingConditionSchema = z.object({
  namespace: settingsTableSchema,
  key: z.string().min(1),
  equals: z.string(),
});
export type SettingCondition = z.infer<typeof settingConditionSchema>;

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
  /**
   * Once each time the setting changes to `equals` (`settings put` over adb, or a UI action such
   * as a consent checkbox); writing the value it already holds does not fire it again.
   */
  settingConditionSchema.extend({ on: z.literal('setting') }),
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
      z.object({
        as: z.literal('form'),
        field: z.string(),
        /** Constant form fields sent before the payload field (`gzip=1`, a project name...). */
        fields: z.record(z.string()).optional(),
      }),
      z.object({ as: z.literal('json'), field: z.string() }),
      z.object({ as: z.literal('query') }),
    ]),
    headers: z.record(z.string()).optional(),
    /**
     * https only: the app's HTTP stack tries QUIC first (one Initial datagram to UDP `port` of
     * the resolved host), and when that is refused or unanswered sends the same request over TCP,
     * as Cronet does. Default false.
     */
    quic: z.boolean().optional(),
    /**
     * https only: certificate pinning, as OkHttp's CertificatePinner or a network security config
     * `<pin-set>` does it. On top of the device's CA store trusting the chain, the chain must hold
     * a certificate whose SubjectPublicKeyInfo has one of the `sha256` digests (base64), so no CA
     * installed on the device makes the app trust an intercepting proxy. `true` pins the vendor's
     * own server key, which the image does not carry and no server in a run holds: every
     * handshake of the send fails, as a pinned app's does behind any intercepting proxy.
     */
    pin: z
      .union([
        z.literal(true),
        z.object({
          sha256: z
            .array(z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'base64 of a SHA-256 digest'))
            .min(1),
        }),
      ])
      .optional(),
  }),
  /** A raw TCP connection to a name, or to an address literal that is never looked up. */
  z.object({ channel: z.literal('tcp'), host: z.string(), port: z.number().int().positive() }),
  /** One UDP datagram holding the payload, to a name or an address literal. */
  z.object({ channel: z.literal('udp'), host: z.string(), port: z.number().int().positive() }),
  /**
   * An ICMP echo to an IPv4 literal whose data is the payload (at most 16 bytes: `ping -p`),
   * sent by running the system `ping` as apps do through Runtime.exec.
   */
  z.object({ channel: z.literal('icmp'), host: z.string() }),
  z.object({ channel: z.literal('sms'), destination: z.string() }),
  /**
   * The payload as DNS labels under this zone (hex or base32 encoding steps are expected), asked
   * of the device's DNS server, or with `resolver` (an IPv4 literal) of a resolver of the app's
   * own on port 53, in DNS messages the app writes itself.
   */
  z.object({ channel: z.literal('dns'), zone: z.string(), resolver: z.string().optional() }),
  /**
   * The payload as DNS labels under this zone, each name asked by DNS over HTTPS (RFC 8484: a
   * POST of an application/dns-message) of the server at `host`, often an address literal.
   */
  z.object({
    channel: z.literal('doh'),
    host: z.string().min(1),
    port: z.number().int().positive().optional(),
    path: z.string().startsWith('/').default('/dns-query'),
    zone: z.string(),
  }),
]);
export type SendSpec = z.infer<typeof sendSchema>;

export const behaviourSchema = z.object({
  id: z.string().min(1),
  description: z.string(),
  trigger: triggerSchema,
  /**
   * Fires only while this setting holds this value (a consent), checked each time the trigger
   * fires; a firing it holds back is logged as a `behaviour.skip` event.
   */
  when: z.object({ setting: settingConditionSchema }).optional(),
  collect: z.array(z.enum(DATA_ITEMS)),
  /** Constant fields added to the payload (app version, channel ids...). */
  extra: z.record(z.union([z.string(), z.number(), z.boolean()])).optional(),
  /**
   * How the payload becomes bytes before encoding: `json` (default) the object of collected
   * items and extras; `values` their values alone, one a line (a string as it is, anything else
   * as JSON), as apps that send a bare identifier do.
   */
  serialize: z.enum(['json', 'values']).default('json'),
  /** Applied in order to the serialised payload. */
  encode: z.array(encodeStepSchema).default([]),
  send: sendSchema,
});
export type Behaviour = z.infer<typeof behaviourSchema>;

const settingNamespace = z.enum(['system', 'secure', 'global']);

/** What tapping a screen element does to the phone. */
export const uiActionSchema = z.object({
  /** Id of the screen shown next; "home" is the launcher home screen. */
  goTo: z.string().min(1).optional(),
  /** Settings written through the lab OS, so `settings get` and behaviours see them. */
  set: z
    .array(z.object({ namespace: settingNamespace, key: z.string().min(1), value: z.string() }))
    .optional(),
  /** Setup done: global device_provisioned=1, secure user_setup_complete=1, then home. */
  finishSetup: z.boolean().optional(),
});
export type UiAction = z.infer<typeof uiActionSchema>;

export const uiElementSchema = z.object({
  /** Full resource id, e.g. "com.android.provision:id/next". */
  resourceId: z.string().optional(),
  /** Visible text ("" when none). */
  text: z.string().optional(),
  contentDesc: z.string().optional(),
  /** Default android.widget.TextView. */
  className: z.string().optional(),
  /** Default: true for Button, CheckBox and Switch, else false. */
  clickable: z.boolean().optional(),
  /** A click toggles `checked`. */
  checkable: z.boolean().optional(),
  /** Initial state. */
  checked: z.boolean().optional(),
  /** Applied when clicked (for checkables: after toggling). */
  onClick: uiActionSchema.optional(),
  /** Checkables: applied when it becomes checked. */
  onCheck: uiActionSchema.optional(),
  /** Checkables: applied when it becomes unchecked. */
  onUncheck: uiActionSchema.optional(),
});
export type UiElement = z.infer<typeof uiElementSchema>;

export const uiScreenSchema = z.object({
  id: z.string().min(1),
  /** Foreground package, e.g. "com.android.provision". */
  package: z.string().min(1),
  /** e.g. ".DefaultActivity". */
  activity: z.string().min(1),
  title: z.string().optional(),
  elements: z.array(uiElementSchema),
});
export type UiScreen = z.infer<typeof uiScreenSchema>;

/** The screens the lab phone shows to a UI driver (Appium's UiAutomator2 server). */
export const uiSchema = z.object({
  /** First screen of the setup wizard, shown at boot until setup is finished. */
  setupScreen: z.string().min(1).optional(),
  screens: z.array(uiScreenSchema),
});
export type LabUi = z.infer<typeof uiSchema>;

export const labAppSchema = z.object({
  package: z.string().regex(/^[a-zA-Z][\w]*(\.[a-zA-Z][\w]*)+$/, 'a Java package name'),
  /** Shown by the launcher; XML (the manifest it is built into) takes no control characters. */
  label: z
    .string()
    .min(1)
    .max(200)
    // eslint-disable-next-line no-control-regex
    .refine((label) => !/[\u0000-\u001f\u007f-\u009f]/.test(label), {
      message:
        'the label holds control characters (an Android manifest cannot carry them); write it as plain text',
    }),
  versionName: z.string(),
  versionCode: z.number().int().nonnegative(),
  /** Where the APK lives in the system image, e.g. /system/priv-app/FotaProvider/FotaProvider.apk. */
  path: z.string().startsWith('/system/'),
  sharedUserId: z.string().optional(),
  permissions: z.array(z.string()).default([]),
  /** Broadcast actions it listens to (android.intent.action.BOOT_COMPLETED...). */
  receivers: z.array(z.string()).default([]),
  behaviours: z.array(behaviourSchema).default([]),
  /** Activity started from the launcher, e.g. ".BrowserActivity" (a leading dot means the app's package). */
  launcherActivity: z.string().min(1).optional(),
  /** Id of the `ui` screen shown while this app is in the foreground. */
  screen: z.string().min(1).optional(),
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
  ui: uiSchema.optional(),
});
export type LabImage = z.infer<typeof labImageSchema>;

/** The path of the behaviour file inside the system partition. */
export const LAB_IMAGE_PATH_IN_SYSTEM = '/etc/canarytrap/lab-image.json';

/** ro.build.fingerprint as Android composes it. */
export function buildFingerprint(build: LabImage['build']): string {
  return `${build.brand}/${build.product}/${build.device}:${build.release}/${build.incremental.split('.')[0] ?? build.incremental}/${build.incremental}:${build.buildType}/release-keys`;
}
