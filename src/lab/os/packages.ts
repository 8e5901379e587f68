import { posix } from 'node:path';
import type { LabImage } from '../../android/lab-image.ts';

/** An installed package as the package manager reports it. */
export interface PackageInfo {
  name: string;
  /** APK path on the device. */
  apkPath: string;
  uid: number;
  versionName: string;
  versionCode: number;
  system: boolean;
  sharedUserId?: string;
  permissions: string[];
  /** Test packages: the `<instrumentation>` their manifest declares. */
  instrumentation?: { name: string; targetPackage: string };
  /** Activities that show in the launcher (`pkg/cls`), for `monkey` and `cmd package resolve-activity`. */
  launcherActivity?: string;
  /** Services the manifest declares (fully qualified), for packages installed at run time. */
  services?: string[];
}

const SHARED_UIDS: Record<string, number> = {
  'android.uid.system': 1000,
  'android.uid.phone': 1001,
  'android.uid.shell': 2000,
};

/** Framework packages every emulator image has; the lab image's apps come on top. */
const FRAMEWORK: Array<
  Omit<PackageInfo, 'versionName' | 'versionCode' | 'system' | 'permissions'>
> = [
  { name: 'android', apkPath: '/system/framework/framework-res.apk', uid: 1000 },
  { name: 'com.android.phone', apkPath: '/system/priv-app/TeleService/TeleService.apk', uid: 1001 },
  {
    name: 'com.android.providers.telephony',
    apkPath: '/system/priv-app/TelephonyProvider/TelephonyProvider.apk',
    uid: 1001,
  },
  {
    name: 'com.android.providers.contacts',
    apkPath: '/system/priv-app/ContactsProvider/ContactsProvider.apk',
    uid: 10002,
  },
  {
    name: 'com.android.providers.settings',
    apkPath: '/system/priv-app/SettingsProvider/SettingsProvider.apk',
    uid: 1000,
  },
  { name: 'com.android.settings', apkPath: '/system/priv-app/Settings/Settings.apk', uid: 1000 },
  { name: 'com.android.shell', apkPath: '/system/priv-app/Shell/Shell.apk', uid: 2000 },
  { name: 'com.android.systemui', apkPath: '/system/priv-app/SystemUI/SystemUI.apk', uid: 10023 },
  {
    name: 'com.android.launcher3',
    apkPath: '/system/priv-app/Launcher3/Launcher3.apk',
    uid: 10025,
  },
];

function qualify(pkg: string, activity: string): string {
  if (activity.startsWith('.')) return `${pkg}${activity}`;
  return activity.includes('.') ? activity : `${pkg}.${activity}`;
}

/** uid in the form dumpsys prints it (UserHandle.formatUid): `1000` or `u0a45`. */
export function formatUid(uid: number): string {
  const appId = uid % 100_000;
  const user = Math.floor(uid / 100_000);
  return appId < 10_000 ? String(uid) : `u${user}a${appId - 10_000}`;
}

export class PackageCatalog {
  readonly #packages = new Map<string, PackageInfo>();

  constructor(image: LabImage) {
    for (const p of FRAMEWORK) {
      this.#packages.set(p.name, {
        ...p,
        versionName: image.build.release,
        versionCode: image.build.sdk,
        system: true,
        permissions: [],
      });
    }
    let nextAppId = 10_045;
    for (const app of image.apps) {
      const shared = app.sharedUserId === undefined ? undefined : SHARED_UIDS[app.sharedUserId];
      this.#packages.set(app.package, {
        name: app.package,
        apkPath: app.path,
        uid: shared ?? nextAppId++,
        versionName: app.versionName,
        versionCode: app.versionCode,
        system: true,
        ...(app.sharedUserId === undefined ? {} : { sharedUserId: app.sharedUserId }),
        permissions: app.permissions,
        ...(app.launcherActivity === undefined
          ? {}
          : { launcherActivity: qualify(app.package, app.launcherActivity) }),
      });
    }
  }

  get(name: string): PackageInfo | undefined {
    return this.#packages.get(name);
  }

  all(): PackageInfo[] {
    return [...this.#packages.values()];
  }

  /** Records a package installed at run time (`pm install`). */
  add(info: PackageInfo): void {
    this.#packages.set(info.name, info);
  }

  /** `pm uninstall`: only packages installed at run time can go; false for the others. */
  remove(name: string): boolean {
    const info = this.#packages.get(name);
    if (info === undefined || info.system) return false;
    return this.#packages.delete(name);
  }

  /** The next free app uid, for a package installed at run time. */
  nextUid(): number {
    const uids = this.all().map((p) => p.uid);
    return Math.max(10_099, ...uids) + 1;
  }

  codePath(info: PackageInfo): string {
    return posix.dirname(info.apkPath);
  }
}
