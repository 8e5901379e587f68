import type { PermissionProtection } from './permissions.ts';

/** One pre-installed app as found in the system image. */
export interface InventoryApp {
  package: string;
  label: string | undefined;
  versionName: string | undefined;
  versionCode: number | undefined;
  /** Path on the device, e.g. /system/priv-app/AdupsFota/AdupsFota.apk. */
  path: string;
  /** Under priv-app: can be granted privileged permissions. */
  privileged: boolean;
  sharedUserId: string | undefined;
  /** Runs as the system user (sharedUserId android.uid.system). */
  systemUid: boolean;
  permissions: Array<{ name: string; protection: PermissionProtection }>;
  /** Receivers listening for BOOT_COMPLETED (or LOCKED_BOOT_COMPLETED). */
  bootReceivers: string[];
  exportedComponents: Array<{ kind: string; name: string; actions: string[] }>;
  signingCertSha256: string | undefined;
  /** Signed with the image's platform key. */
  platformSigned: boolean;
  /** URLs found in its dex files and native libraries, and their hosts. */
  urls: string[];
  hosts: string[];
  /** What could not be read about it (bad signature, unreadable dex...). */
  problems: string[];
}
