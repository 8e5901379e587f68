import { join } from 'node:path';
import { exists } from '../../host/fs.ts';
import type { PartitionReader } from '../../android/partition/types.ts';
import { openZipChecked, readEntryBytes, type ZipLimits } from '../../android/zip-safe.ts';
import { destinationsIn } from './dex-strings.ts';
import { listApks, nameOddities, type ApkLocation } from './list-apps.ts';
import { readManifest } from '../../android/manifest.ts';
import { permissionProtection } from './permissions.ts';
import { signingCertSha256 } from './signing.ts';
import type { InventoryApp } from './types.ts';

export interface InventoryOptions {
  timeoutMs: number;
  /** Default 2,000 apps. */
  maxApps?: number;
  /** Largest dex or native library read into memory. Default 128 MiB. */
  maxCodeBytes?: number;
  /** APKs analysed at once (each runs aapt and a JVM). Default 3. */
  concurrency?: number;
}

const BOOT_ACTIONS = new Set([
  'android.intent.action.BOOT_COMPLETED',
  'android.intent.action.LOCKED_BOOT_COMPLETED',
]);

/** Lists, extracts and analyses every pre-installed APK. `scratchDir` must be empty and private. */
export async function inventoryApps(
  partition: PartitionReader,
  scratchDir: string,
  options: InventoryOptions,
): Promise<InventoryApp[]> {
  const { apks, fsPrefix } = await listApks(partition, options.maxApps ?? 2000);
  const targets = apks.map((apk, i) => ({ apk, local: join(scratchDir, `${i}.apk`) }));
  const frameworkRes = join(scratchDir, 'framework-res.apk');
  await partition.extractFiles([
    ...targets.map((t) => ({ from: t.apk.fsPath, to: t.local })),
    { from: `${fsPrefix}/framework/framework-res.apk`, to: frameworkRes },
  ]);

  const results: InventoryApp[] = new Array<InventoryApp>(targets.length);
  let next = 0;
  const worker = async () => {
    while (next < targets.length) {
      const index = next++;
      const target = targets[index];
      if (target) results[index] = await analyseApk(target.apk, target.local, options);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 3 }, worker));
  const frameworkCert = (await exists(frameworkRes, 'file'))
    ? (await signingCertSha256(frameworkRes, options.timeoutMs)).sha256
    : undefined;
  markPlatformSigned(results, frameworkCert);
  return results.sort((a, b) => a.path.localeCompare(b.path));
}

async function analyseApk(
  apk: ApkLocation,
  local: string,
  options: InventoryOptions,
): Promise<InventoryApp> {
  const problems: string[] = [];
  const app: InventoryApp = {
    package: apk.devicePath,
    label: undefined,
    versionName: undefined,
    versionCode: undefined,
    path: apk.devicePath,
    privileged: apk.privileged,
    sharedUserId: undefined,
    systemUid: false,
    permissions: [],
    bootReceivers: [],
    exportedComponents: [],
    signingCertSha256: undefined,
    platformSigned: false,
    urls: [],
    hosts: [],
    problems,
  };
  const oddPath = nameOddities(apk.devicePath);
  if (oddPath) problems.push(`its path holds ${oddPath}`);
  if (apk.unreadable || !(await exists(local, 'file'))) {
    problems.push(`not read: ${apk.unreadable ?? 'the APK could not be extracted from the image'}`);
    return app;
  }
  try {
    const manifest = await readManifest(local, options.timeoutMs);
    app.package = manifest.package ?? apk.devicePath;
    app.label = manifest.label;
    const oddLabel =
      manifest.label === undefined ? undefined : nameOddities(manifest.label, 'label');
    if (oddLabel) problems.push(`its label holds ${oddLabel}`);
    app.versionName = manifest.versionName;
    app.versionCode = manifest.versionCode;
    app.sharedUserId = manifest.sharedUserId;
    app.systemUid = manifest.sharedUserId === 'android.uid.system';
    app.permissions = [...new Set(manifest.permissions)].map((name) => ({
      name,
      protection: permissionProtection(name),
    }));
    app.bootReceivers = manifest.components
      .filter((c) => c.kind === 'receiver' && c.actions.some((a) => BOOT_ACTIONS.has(a)))
      .map((c) => c.name);
    app.exportedComponents = manifest.components
      .filter((c) => c.exported)
      .map(({ kind, name, actions }) => ({ kind, name, actions }));
  } catch (error) {
    problems.push(`manifest unreadable: ${message(error)}`);
  }
  const signature = await signingCertSha256(local, options.timeoutMs);
  app.signingCertSha256 = signature.sha256;
  if (signature.problem) problems.push(signature.problem);
  try {
    const found = await scanCode(local, apk.devicePath, options.maxCodeBytes ?? 128 * 1024 * 1024);
    app.urls = found.urls;
    app.hosts = found.hosts;
  } catch (error) {
    problems.push(`code unreadable: ${message(error)}`);
  }
  return app;
}

async function scanCode(local: string, label: string, maxBytes: number) {
  const limits: ZipLimits = {
    maxTotalBytes: Number.MAX_SAFE_INTEGER,
    maxEntries: 100_000,
    maxRatio: 1000,
    ratioMinBytes: 16 * 1024 * 1024,
  };
  await using zip = await openZipChecked(local, label, limits);
  const dex: Buffer[] = [];
  const native: Buffer[] = [];
  for (const entry of zip.entries) {
    if (/^classes\d*\.dex$/.test(entry.name))
      dex.push(await readEntryBytes(zip, entry, maxBytes, label));
    else if (/^lib\/[^/]+\/[^/]+\.so$/.test(entry.name))
      native.push(await readEntryBytes(zip, entry, maxBytes, label));
  }
  return destinationsIn(dex, native);
}

/**
 * The platform key is the one framework-res.apk is signed with; images without it in the
 * inventory fall back to the key shared by the apps running as android.uid.system, which the
 * package manager only allows for platform-signed apps.
 */
function markPlatformSigned(apps: InventoryApp[], framework: string | undefined): void {
  const counts = new Map<string, number>();
  for (const app of apps) {
    if (app.systemUid && app.signingCertSha256)
      counts.set(app.signingCertSha256, (counts.get(app.signingCertSha256) ?? 0) + 1);
  }
  const platform = framework ?? [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  for (const app of apps)
    app.platformSigned = platform !== undefined && app.signingCertSha256 === platform;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
