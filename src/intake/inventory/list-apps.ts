import type { PartitionReader } from '../../android/partition/types.ts';

/** An APK inside the system partition: where it is in the filesystem and where the device sees it. */
export interface ApkLocation {
  fsPath: string;
  devicePath: string;
  privileged: boolean;
  /** Set when the APK cannot be read at all (a folder that could not be listed): why. */
  unreadable?: string;
}

/**
 * What is odd about a name from the image, in words, or undefined for a plain one. Firmware
 * names files as it likes; an odd name is recorded and said, never a reason to drop an app.
 */
export function nameOddities(name: string, kind: 'path' | 'label' = 'path'): string | undefined {
  const odd: string[] = [];
  if (/[\n\r]/.test(name)) odd.push('a line break');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f]/.test(name))
    odd.push('control characters');
  if (/[\u202a-\u202e\u2066-\u2069]/.test(name)) odd.push('text-direction overrides');
  // A label may well say "Tom & Jerry"; a file path has no business with markup.
  if (kind === 'path' && /["'<>&`]/.test(name)) odd.push('markup characters (" \' < > & `)');
  return odd.length > 0 ? odd.join(', ') : undefined;
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
        const inner = await partition.listDir(`${dir}/${entry.name}`);
        if (!inner) {
          const devicePath = `/system/${dirName}/${entry.name}/`;
          const odd = nameOddities(entry.name);
          found.push({
            ...location(`${dir}/${entry.name}`, devicePath, privileged),
            unreadable: `its folder could not be listed${odd ? ` (the name holds ${odd})` : ''}`,
          });
          continue;
        }
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
