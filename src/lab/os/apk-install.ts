import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { manifestInfo, parseXmlTree, type XmlElement } from '../../android/manifest.ts';
import { runTool } from '../../android/tools.ts';
import type { PackageCatalog, PackageInfo } from './packages.ts';

/** What the package manager needs from an APK's manifest. */
export interface ApkManifest {
  package: string;
  versionName: string;
  versionCode: number;
  permissions: string[];
  instrumentation?: { name: string; targetPackage: string };
  launcherActivity?: string;
  services: string[];
}

const AAPT_TIMEOUT_MS = 30_000;

function qualify(name: string, pkg: string): string {
  if (name.startsWith('.')) return `${pkg}${name}`;
  return name.includes('.') ? name : `${pkg}.${name}`;
}

/** The first activity with a MAIN/LAUNCHER intent filter. */
function launcherOf(root: XmlElement, pkg: string): string | undefined {
  const app = root.children.find((c) => c.name === 'application');
  for (const activity of app?.children ?? []) {
    if (activity.name !== 'activity' && activity.name !== 'activity-alias') continue;
    const launchable = activity.children.some(
      (f) =>
        f.name === 'intent-filter' &&
        f.children.some((c) => c.attrs.get('android:name') === 'android.intent.action.MAIN') &&
        f.children.some((c) => c.attrs.get('android:name') === 'android.intent.category.LAUNCHER'),
    );
    const name = activity.attrs.get('android:name');
    if (launchable && name !== undefined) return qualify(name, pkg);
  }
  return undefined;
}

/** Thrown for bytes that are not an installable APK; the message is the pm failure reason. */
export class ApkInstallError extends Error {
  override readonly name = 'ApkInstallError';
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * Reads the binary AndroidManifest.xml of an APK the host sent (`adb install` streams it, or
 * `pm install` names a pushed file), with the same aapt reader intake uses for firmware APKs.
 */
export async function readApkManifest(apk: Buffer, stagingDir: string): Promise<ApkManifest> {
  await mkdir(stagingDir, { recursive: true });
  const file = join(stagingDir, `install-${randomBytes(6).toString('hex')}.apk`);
  try {
    await writeFile(file, apk);
    const dump = await runTool('aapt', ['dump', 'xmltree', file, 'AndroidManifest.xml'], {
      timeoutMs: AAPT_TIMEOUT_MS,
      allowFailure: true,
    });
    const root = dump.exitCode === 0 ? parseXmlTree(dump.stdout) : undefined;
    const info = manifestInfo(root);
    if (root === undefined || info.package === undefined) {
      throw new ApkInstallError(
        'INSTALL_PARSE_FAILED_NOT_APK',
        'Failed to parse the package: no AndroidManifest.xml',
      );
    }
    const instrumentation = root.children.find((c) => c.name === 'instrumentation');
    const instrumentationName = instrumentation?.attrs.get('android:name');
    const target = instrumentation?.attrs.get('android:targetPackage');
    const launcherActivity = launcherOf(root, info.package);
    return {
      package: info.package,
      versionName: info.versionName ?? '',
      versionCode: info.versionCode ?? 0,
      permissions: info.permissions,
      services: info.components.filter((c) => c.kind === 'service').map((c) => c.name),
      ...(instrumentationName === undefined || target === undefined
        ? {}
        : {
            instrumentation: {
              name: qualify(instrumentationName, info.package),
              targetPackage: target,
            },
          }),
      ...(launcherActivity === undefined ? {} : { launcherActivity }),
    };
  } finally {
    await rm(file, { force: true });
  }
}

/** Registers the package as the package manager would after a successful install. */
export function registerInstalled(
  catalog: PackageCatalog,
  manifest: ApkManifest,
  options: { replace: boolean },
): PackageInfo {
  const existing = catalog.get(manifest.package);
  if (existing !== undefined && !options.replace) {
    throw new ApkInstallError(
      'INSTALL_FAILED_ALREADY_EXISTS',
      `Attempt to re-install ${manifest.package} without first uninstalling.`,
    );
  }
  if (existing?.system === true) {
    throw new ApkInstallError(
      'INSTALL_FAILED_UPDATE_INCOMPATIBLE',
      `Package ${manifest.package} signatures do not match previously installed version`,
    );
  }
  const info: PackageInfo = {
    name: manifest.package,
    apkPath: `/data/app/${manifest.package}-${randomBytes(8).toString('base64url')}==/base.apk`,
    uid: existing?.uid ?? catalog.nextUid(),
    versionName: manifest.versionName,
    versionCode: manifest.versionCode,
    system: false,
    permissions: manifest.permissions,
    services: manifest.services,
    ...(manifest.instrumentation === undefined
      ? {}
      : { instrumentation: manifest.instrumentation }),
    ...(manifest.launcherActivity === undefined
      ? {}
      : { launcherActivity: manifest.launcherActivity }),
  };
  catalog.add(info);
  return info;
}
