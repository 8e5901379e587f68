import { existsSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from './errors.ts';

/**
 * Every device launcher, by name: `CANARYTRAP_LAUNCHER` and a job's `launcher` option take one
 * of these. Each is a folder under src/device/ and one entry in src/device/launchers.ts.
 */
/**
 * An analysis's defaults, used wherever a job, a form or a flag leaves them out: canaries planted
 * of each kind (SMS, contacts, calls), device-clock hours advanced (past a 72-hour timer) and the
 * largest single jump of the clock.
 */
export const ANALYSIS_DEFAULTS = { perProvider: 3, advanceHours: 80, stepHours: 6 } as const;

export const LAUNCHER_NAMES = ['lab-phone', 'sdk-emulator'] as const;
export type LauncherName = (typeof LAUNCHER_NAMES)[number];

/**
 * Launchers that boot a real system image in the SDK emulator: a run naming one goes into an
 * emulator lane of the queue, taken only by a host with KVM (src/queue/lanes.ts).
 */
export const LAUNCHER_NEEDS_KVM: Readonly<Record<LauncherName, boolean>> = {
  'lab-phone': false,
  'sdk-emulator': true,
};

export function isLauncherName(value: string): value is LauncherName {
  return (LAUNCHER_NAMES as readonly string[]).includes(value);
}

/** pino's levels, most to least severe, and `silent`: what `CANARYTRAP_LOG_LEVEL` takes. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** The smallest upload limit: below it no image fits, and a fraction of a byte rounds to 0. */
export const UPLOAD_LIMIT_MIN_MB = 1;

/**
 * The one place environment variables are read. Everything else receives typed options.
 */
export interface Config {
  /** Root of run directories, the image store and the API token. `CANARYTRAP_DATA`, default `./.data`. */
  dataRoot: string;
  /** Redis to use for the queue. `CANARYTRAP_REDIS_URL` or `REDIS_URL`; unset: a private redis-server is started. */
  redisUrl: string | undefined;
  /** Prefix of every BullMQ key, so parallel test suites never share queues. `CANARYTRAP_QUEUE_PREFIX`, default `canarytrap`. */
  queuePrefix: string;
  /** The adb client binary. `CANARYTRAP_ADB`, default `adb` on PATH. */
  adbPath: string;
  /** The adb server port. `ANDROID_ADB_SERVER_PORT`, default 5037 (adb's own default). */
  adbServerPort: number;
  /** Android SDK root. `ANDROID_HOME`, then `ANDROID_SDK_ROOT`. */
  androidHome: string | undefined;
  /** Directory holding frida-server binaries per ABI (`frida-server-<abi>`). `CANARYTRAP_FRIDA_SERVER_DIR`. */
  fridaServerDir: string | undefined;
  /**
   * Directories of base images that the apps of an image not bootable as-is are moved onto
   * (lab image JSON files, emulator system-image directories). `CANARYTRAP_BASE_IMAGES`
   * (path-delimiter separated), default none; the bundled `images/lab/base-*.json` and the SDK's
   * system images under `ANDROID_HOME` are always searched too.
   */
  baseImageDirs: string[];
  /** Which device to boot images on. `CANARYTRAP_LAUNCHER`: one of LAUNCHER_NAMES, or `auto` (default). */
  launcher: LauncherName | 'auto';
  /** pino level. `CANARYTRAP_LOG_LEVEL`: one of LOG_LEVELS, default `warn` (also when empty). */
  logLevel: LogLevel;
  /** The emulator console auth token file: `$HOME/.emulator_console_auth_token`, as the emulator and adb use it. */
  consoleAuthTokenPath: string;
  /** Token of the HTTP API (`canarytrap serve`). `CANARYTRAP_API_TOKEN`; unset: generated on first start and kept at `<dataRoot>/api-token`. */
  apiToken: string | undefined;
  /** Directories the HTTP API may read images from by path. `CANARYTRAP_ALLOWED_ROOTS` (path-delimiter separated), default the data root and the bundled lab images. */
  allowedRoots: string[];
  /** Largest image the HTTP API accepts as an upload, bytes. `CANARYTRAP_UPLOAD_LIMIT_MB`, default 4096 MB, at least 1 MB. */
  uploadLimitBytes: number;
  /** Appium's home, holding the UiAutomator2 driver (installed by `bash scripts/setup.sh`). `CANARYTRAP_APPIUM_HOME`, default `<repo>/.appium`. */
  appiumHome: string;
  /** The Android SDK root Appium and its driver use (they run `<root>/platform-tools/adb`). `CANARYTRAP_ANDROID_HOME`, default `/usr/lib/android-sdk` (Debian's adb) where it exists, else `ANDROID_HOME`. */
  appiumAndroidHome: string | undefined;
  /** How soon a job whose worker died (SIGKILL, crash) goes to another worker, ms: BullMQ's stalled-job check interval and job lock duration. `CANARYTRAP_STALLED_INTERVAL_MS`, default 15000, at least 1000. */
  stalledIntervalMs: number;
  /**
   * A directory of built lab images shared by several data roots (the builds are keyed by their
   * sources, so any data root may reuse any). `CANARYTRAP_LAB_IMAGE_CACHE`; unset: each data root
   * builds its own under `<dataRoot>/cache/lab-images`.
   */
  labImageSharedCache: string | undefined;
  /**
   * Where finished runs and submitted images are shared between hosts. `CANARYTRAP_STORE`:
   * unset, the data root (one host, or a shared file system); `s3://bucket/prefix`,
   * S3-compatible object storage, reached at `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`; unset:
   * AWS) in `AWS_REGION` (default us-east-1) with `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
   * (unset: the SDK's own credential chain).
   */
  store: StoreLocation;
}

export type StoreLocation = { kind: 'data-root' } | S3StoreLocation;

export interface S3StoreLocation {
  kind: 's3';
  bucket: string;
  /** Empty, or ending in `/`. */
  prefix: string;
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

const LAB_IMAGES_ROOT = fileURLToPath(new URL('../images/lab', import.meta.url));
const REPO_APPIUM_HOME = fileURLToPath(new URL('../.appium', import.meta.url));
const DEBIAN_ANDROID_HOME = '/usr/lib/android-sdk';

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const launcher = env['CANARYTRAP_LAUNCHER'] ?? 'auto';
  if (launcher !== 'auto' && !isLauncherName(launcher)) {
    throw new InputError('config-invalid', `CANARYTRAP_LAUNCHER is "${launcher}"`, {
      hint: `set it to ${LAUNCHER_NAMES.join(', ')} or auto`,
    });
  }
  const adbServerPort = Number(env['ANDROID_ADB_SERVER_PORT'] ?? 5037);
  if (!Number.isInteger(adbServerPort) || adbServerPort <= 0 || adbServerPort > 65535) {
    throw new InputError(
      'config-invalid',
      `ANDROID_ADB_SERVER_PORT is "${env['ANDROID_ADB_SERVER_PORT']}"`,
      {
        hint: 'set it to a TCP port number',
      },
    );
  }
  const uploadLimitMb = Number(env['CANARYTRAP_UPLOAD_LIMIT_MB'] ?? 4096);
  if (!Number.isFinite(uploadLimitMb) || uploadLimitMb < UPLOAD_LIMIT_MIN_MB) {
    throw new InputError(
      'config-invalid',
      `CANARYTRAP_UPLOAD_LIMIT_MB is "${env['CANARYTRAP_UPLOAD_LIMIT_MB']}"`,
      {
        hint: `set it to a number of megabytes, ${UPLOAD_LIMIT_MIN_MB} or more; the default is 4096`,
      },
    );
  }
  // Empty counts as unset, so `CANARYTRAP_LOG_LEVEL= canarytrap …` means the default.
  const logLevel = env['CANARYTRAP_LOG_LEVEL'] || 'warn';
  if (!isLogLevel(logLevel)) {
    throw new InputError('config-invalid', `CANARYTRAP_LOG_LEVEL is "${logLevel}"`, {
      hint: `set it to one of ${LOG_LEVELS.join(', ')}`,
    });
  }
  const stalledIntervalMs = Number(env['CANARYTRAP_STALLED_INTERVAL_MS'] ?? 15_000);
  if (!Number.isInteger(stalledIntervalMs) || stalledIntervalMs < 1_000) {
    throw new InputError(
      'config-invalid',
      `CANARYTRAP_STALLED_INTERVAL_MS is "${env['CANARYTRAP_STALLED_INTERVAL_MS']}"`,
      { hint: 'set it to a whole number of milliseconds, 1000 or more' },
    );
  }
  const dataRoot = resolve(cwd, env['CANARYTRAP_DATA'] ?? '.data');
  const roots = env['CANARYTRAP_ALLOWED_ROOTS'];
  return {
    dataRoot,
    redisUrl: env['CANARYTRAP_REDIS_URL'] ?? env['REDIS_URL'] ?? undefined,
    queuePrefix: env['CANARYTRAP_QUEUE_PREFIX'] ?? 'canarytrap',
    adbPath: env['CANARYTRAP_ADB'] ?? 'adb',
    adbServerPort,
    androidHome: env['ANDROID_HOME'] ?? env['ANDROID_SDK_ROOT'] ?? undefined,
    fridaServerDir: env['CANARYTRAP_FRIDA_SERVER_DIR'] ?? undefined,
    baseImageDirs: (env['CANARYTRAP_BASE_IMAGES'] ?? '')
      .split(delimiter)
      .filter((d) => d.length > 0)
      .map((d) => resolve(cwd, d)),
    launcher,
    logLevel,
    consoleAuthTokenPath: consoleAuthTokenPath(env),
    apiToken: env['CANARYTRAP_API_TOKEN'] || undefined,
    allowedRoots: roots
      ? roots
          .split(delimiter)
          .filter((r) => r.length > 0)
          .map((r) => resolve(cwd, r))
      : [dataRoot, LAB_IMAGES_ROOT],
    uploadLimitBytes: Math.floor(uploadLimitMb * 1024 * 1024),
    appiumHome: resolve(cwd, env['CANARYTRAP_APPIUM_HOME'] ?? REPO_APPIUM_HOME),
    appiumAndroidHome:
      env['CANARYTRAP_ANDROID_HOME'] ??
      (existsSync(DEBIAN_ANDROID_HOME)
        ? DEBIAN_ANDROID_HOME
        : (env['ANDROID_HOME'] ?? env['ANDROID_SDK_ROOT'])),
    stalledIntervalMs,
    labImageSharedCache: env['CANARYTRAP_LAB_IMAGE_CACHE']
      ? resolve(cwd, env['CANARYTRAP_LAB_IMAGE_CACHE'])
      : undefined,
    store: storeLocation(env),
  };
}

/** S3 bucket names: 3–63 of lower-case letters, digits, dots and hyphens. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function storeLocation(env: Env): StoreLocation {
  const text = env['CANARYTRAP_STORE'];
  if (!text) return { kind: 'data-root' };
  const refuse = (why: string) =>
    new InputError('config-invalid', `CANARYTRAP_STORE is "${text}": ${why}`, {
      hint: 'set it to s3://bucket or s3://bucket/prefix, or leave it unset to keep runs in the data root',
    });
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(text);
  if (!match) throw refuse('only s3:// stores are known');
  const bucket = match[1] ?? '';
  if (!BUCKET.test(bucket)) throw refuse(`"${bucket}" is not an S3 bucket name`);
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((part) => part === '..' || part === '.'))
    throw refuse('the prefix may not hold . or .. parts');
  const endpoint = env['AWS_ENDPOINT_URL_S3'] || env['AWS_ENDPOINT_URL'] || undefined;
  if (endpoint && !/^https?:\/\/[^/]+/.test(endpoint)) {
    throw new InputError('config-invalid', `AWS_ENDPOINT_URL_S3 is "${endpoint}"`, {
      hint: 'set it to the http(s) URL of the S3-compatible server',
    });
  }
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  return {
    kind: 's3',
    bucket,
    prefix: prefix ? `${prefix}/` : '',
    region: env['AWS_REGION'] || env['AWS_DEFAULT_REGION'] || 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    ...(accessKeyId && secretAccessKey
      ? {
          credentials: {
            accessKeyId,
            secretAccessKey,
            ...(env['AWS_SESSION_TOKEN'] ? { sessionToken: env['AWS_SESSION_TOKEN'] } : {}),
          },
        }
      : {}),
  };
}

/** The emulator's console auth token file, where the SDK emulator and the lab phone both keep it. */
export function consoleAuthTokenPath(env: Env = process.env): string {
  return resolve(env['HOME'] ?? homedir(), '.emulator_console_auth_token');
}

/**
 * Where the worker records the cages it made (their owner), so a later worker can sweep them.
 * Per host name: cages, their owners' pids and their namespaces belong to one host (or one
 * container), and workers of several hosts may share a data root.
 */
export function cageStateDir(config: Pick<Config, 'dataRoot'>): string {
  return join(config.dataRoot, 'cages', hostname());
}
