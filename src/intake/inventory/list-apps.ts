import type { PartitionReader } from '../../android/partition/types.ts';

/** An APK inside the system partition: where it is in the filesystem and where the device sees it. */
export interface ApkLocation {
  fsPath: string;
  devicePath: string;
  privileged: boolean;
}

/**
 * Finds APKs in app/ and priv-app/, one directory deep (the layout since Android 5) or directly
 * (older images). A system-as-root image keeps them under /system inside the filesystem.
 */
export async function listApks(
  partition: PartitionReader,
  maxApps: number,
): Promise<{ apks: ApkLocation[]; fsPrefix: string }> {
  const root = await partition.listDir('/');
  const systemAsRoot =
    root?.some((e) => e.name === 'system' && e.kind === 'dir') === true &&
    !root.some((e) => (e.name === 'app' || e.name === 'priv-app') && e.kind === 'dir');
  const fsPrefix = systemAsRoot ? '/system' : '';
  const found: ApkLocation[] = [];
  for (const dirName of ['priv-app', 'app']) {
    const dir = `${fsPrefix}/${dirName}`;
    const entries = (await partition.listDir(dir)) ?? [];
    const privileged = dirName === 'priv-app';
    for (const entry of entries) {
      if (found.length >= maxApps) return { apks: found, fsPrefix };
      if (entry.kind === 'file' && entry.name.endsWith('.apk')) {
        found.push(
          location(`${dir}/${entry.name}`, `/system/${dirName}/${entry.name}`, privileged),
        );
      } else if (entry.kind === 'dir') {
        const inner = (await partition.listDir(`${dir}/${entry.name}`)) ?? [];
        for (const file of inner) {
          if (file.kind === 'file' && file.name.endsWith('.apk')) {
            found.push(
              location(
                `${dir}/${entry.name}/${file.name}`,
                `/system/${dirName}/${entry.name}/${file.name}`,
                privileged,
              ),
            );
          }
        }
      }
    }
  }
  return { apks: found, fsPrefix };
}

function location(fsPath: string, devicePath: string, privileged: boolean): ApkLocation {
  return { fsPath, devicePath, privileged };
}
