import { execa } from 'execa';
import { Redis } from 'ioredis';
import { readdir } from 'node:fs/promises';
import { loadFrida } from '../instrument/frida-loader.ts';
import { TOOL_PACKAGES, type ToolName } from '../android/tools.ts';
import { APPIUM_ENTRY, checkAppiumInstall } from '../ui/appium-home.ts';
import { CanarytrapError } from '../errors.ts';
import { missing, present, type CheckResult } from './check.ts';

/** frida's release names for each Android ABI. */
const FRIDA_ARCH: Record<string, string> = {
  x86_64: 'x86_64',
  x86: 'x86',
  'arm64-v8a': 'arm64',
  'armeabi-v7a': 'arm',
};

/** A frida-server binary for every ABI of the images this host can boot. */
export async function checkFridaServers(
  fridaServerDir: string | undefined,
  abis: readonly string[],
): Promise<CheckResult> {
  const wanted = abis.length > 0 ? [...new Set(abis)].sort() : ['x86_64'];
  const what = `the frida-server binary pushed to the device to trace the suspect apps, one per ABI, named frida-server-<abi> in CANARYTRAP_FRIDA_SERVER_DIR (needed here: ${wanted.join(', ')})`;
  const fix = (abi: string) =>
    `download frida-server-<version>-android-${FRIDA_ARCH[abi] ?? abi}.xz from https://github.com/frida/frida/releases (the version of the frida npm module), unxz it to <dir>/frida-server-${abi}, chmod +x it, and export CANARYTRAP_FRIDA_SERVER_DIR=<dir>`;
  if (!fridaServerDir) {
    return missing(
      'frida-server',
      'CANARYTRAP_FRIDA_SERVER_DIR is not set',
      what,
      fix(wanted[0] ?? 'x86_64'),
    );
  }
  const files = new Set(await readdir(fridaServerDir).catch(() => []));
  const have = wanted.filter((abi) => files.has(`frida-server-${abi}`));
  const lacking = wanted.filter((abi) => !files.has(`frida-server-${abi}`));
  if (lacking.length > 0) {
    return missing(
      'frida-server',
      `${fridaServerDir} lacks ${lacking.map((abi) => `frida-server-${abi}`).join(', ')}${have.length ? ` (has ${have.join(', ')})` : ''}`,
      what,
      fix(lacking[0] ?? 'x86_64'),
    );
  }
  return present(
    'frida-server',
    `${have.map((abi) => `frida-server-${abi}`).join(', ')} in ${fridaServerDir}`,
  );
}

export async function checkFridaModule(moduleName = 'frida'): Promise<CheckResult> {
  const load = await loadFrida(moduleName);
  if (load.ok) return present('frida module', 'loads');
  return missing(
    'frida module',
    load.reason,
    'frida-node, the host side of Frida that attaches to frida-server on the device',
    'cd to the canarytrap checkout and run `npm install frida` (its install downloads a prebuilt binary from GitHub, so it needs that route)',
  );
}

export async function checkRedis(redisUrl: string | undefined): Promise<CheckResult> {
  const what = 'Redis, which holds the job queue between `canarytrap submit` and the workers';
  if (redisUrl) {
    const client = new Redis(redisUrl, {
      lazyConnect: true,
      connectTimeout: 3_000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    // connect() rejects with the failure; the listener only keeps ioredis from printing it too.
    let lastError: Error | undefined;
    client.on('error', (error: Error) => (lastError = error));
    try {
      await client.connect();
      const pong = await client.ping();
      return present('Redis', `${redacted(redisUrl)} answers ${pong}`);
    } catch (error) {
      return missing(
        'Redis',
        `${redacted(redisUrl)} does not answer: ${(lastError ?? (error as Error)).message}`,
        what,
        'start the Redis at that URL, or unset CANARYTRAP_REDIS_URL/REDIS_URL so a private redis-server is started',
      );
    } finally {
      // A client whose connection failed has ended; disconnect() would arm a 2 s timer for nothing.
      if (client.status !== 'end') client.disconnect();
    }
  }
  const version = await execa('redis-server', ['--version'], {
    timeout: 10_000,
    reject: false,
    stdin: 'ignore',
  });
  if (version.failed) {
    return missing(
      'Redis',
      'no CANARYTRAP_REDIS_URL and no redis-server on PATH',
      what,
      'apt-get install -y redis-server (canarytrap then starts a private one), or set CANARYTRAP_REDIS_URL',
    );
  }
  const number = /v=([\d.]+)/.exec(String(version.stdout))?.[1] ?? 'present';
  return present('Redis', `no URL configured; redis-server ${number} on PATH is started privately`);
}

function redacted(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * The Debian tools intake runs, looked up by the shell's `command -v` (not run: several are
 * JVM programs that take a second each to start).
 */
export async function checkIntakeTools(): Promise<CheckResult> {
  const tools = Object.keys(TOOL_PACKAGES) as ToolName[];
  const lookup = await execa(
    'sh',
    [
      '-c',
      'for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || echo "$tool"; done',
      'sh',
      ...tools,
    ],
    { timeout: 10_000, reject: false, stdin: 'ignore' },
  );
  const absent = new Set(
    String(lookup.stdout ?? '')
      .split('\n')
      .filter(Boolean),
  );
  const lacking = tools.filter((tool) => absent.has(tool));
  if (lacking.length === 0) return present('intake tools', tools.join(', '));
  const packages = [...new Set(lacking.map((tool) => TOOL_PACKAGES[tool]))];
  return missing(
    'intake tools',
    `not on PATH: ${lacking.join(', ')}`,
    'the Debian programs intake uses to unpack, inspect and re-sign images',
    `apt-get install -y ${packages.join(' ')}`,
  );
}

/** Appium and its UiAutomator2 driver, which drive setup wizards, consents and apps (Android 8.0+). */
export async function checkAppium(
  appiumHome: string,
  appiumEntry = APPIUM_ENTRY,
): Promise<CheckResult> {
  try {
    await checkAppiumInstall(appiumEntry, appiumHome);
  } catch (error) {
    if (!(error instanceof CanarytrapError)) throw error;
    return missing(
      'Appium',
      error.message,
      'Appium with its UiAutomator2 driver, which taps through setup wizards and consents and opens apps (images of Android 8.0 and later); without it runs go on undriven',
      error.hint ?? 'bash scripts/setup.sh',
    );
  }
  return present('Appium', `UiAutomator2 driver in ${appiumHome}`);
}
