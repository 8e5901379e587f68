import { listExt4Dir } from '../ext4.ts';

/** An APK inside the ext4 image: where it is in the filesystem and where the device sees it. */
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
  image: string,
  timeoutMs: number,
  maxApps: number,
): Promise<{ apks: ApkLocation[]; fsPrefix: string }> {
  const root = await listExt4Dir(image, '/', timeoutMs);
  const systemAsRoot =
    root?.some((e) => e.name === 'system' && e.kind === 'dir') === true &&
    !root.some((e) => (e.name === 'app' || e.name === 'priv-app') && e.kind === 'dir');
  const fsPrefix = systemAsRoot ? '/system' : '';
  const found: ApkLocation[] = [];
  for (const dirName of ['priv-app', 'app']) {
    const dir = `${fsPrefix}/${dirName}`;
    const entries = (await listExt4Dir(image, dir, timeoutMs)) ?? [];
    const privileged = dirName === 'priv-app';
    for (const entry of entries) {
      if (found.length >= maxApps) return { apks: found, fsPrefix };
      if (entry.kind === 'file' && entry.name.endsWith('.apk')) {
        found.push(
          location(`${dir}/${entry.name}`, `/system/${dirName}/${entry.name}`, privileged),
        );
      } else if (entry.kind === 'dir') {
        const inner = (await listExt4Dir(image, `${dir}/${entry.name}`, timeoutMs)) ?? [];
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
