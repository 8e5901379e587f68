import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CanarytrapError } from '../../errors.ts';
import type { SigningKey } from '../lab-images/signing-keys.ts';
import { runTool } from '../../android/tools.ts';
import { openZipChecked, readEntryBytes, type ZipLimits } from '../../android/zip-safe.ts';
import { ManifestFormatError, removeManifestAttribute } from './manifest-rewrite.ts';

const APK_LIMITS: ZipLimits = {
  maxTotalBytes: Number.MAX_SAFE_INTEGER,
  maxEntries: 100_000,
  maxRatio: 1000,
  ratioMinBytes: 16 * 1024 * 1024,
};
const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;

/**
 * Rewrites `apk` in place without its manifest's sharedUserId and signs it with `key`. Returns
 * false (and leaves the file alone) when the manifest has no sharedUserId.
 */
export async function dropSharedUserId(
  apk: string,
  label: string,
  key: SigningKey,
  workDir: string,
  timeoutMs: number,
): Promise<boolean> {
  let manifest: Buffer;
  {
    await using zip = await openZipChecked(apk, label, APK_LIMITS);
    const entry = zip.entries.find((e) => e.name === 'AndroidManifest.xml');
    if (!entry) throw unusable(label, 'it has no AndroidManifest.xml');
    manifest = await readEntryBytes(zip, entry, MAX_MANIFEST_BYTES, label);
  }
  let rewritten: Buffer | undefined;
  try {
    rewritten = removeManifestAttribute(manifest);
  } catch (error) {
    if (error instanceof ManifestFormatError) throw unusable(label, error.message, error);
    throw error;
  }
  if (!rewritten) return false;

  await mkdir(workDir, { recursive: true });
  const unsigned = join(workDir, 'unsigned.apk');
  await copyFile(apk, unsigned);
  // The old signature would no longer match; apksigner writes the new one.
  await runTool(
    'zip',
    [
      '-q',
      '-d',
      unsigned,
      'META-INF/*.SF',
      'META-INF/*.RSA',
      'META-INF/*.EC',
      'META-INF/*.DSA',
      'META-INF/MANIFEST.MF',
    ],
    {
      timeoutMs,
      allowFailure: true,
    },
  );
  const manifestDir = join(workDir, 'manifest');
  await mkdir(manifestDir, { recursive: true });
  await writeFile(join(manifestDir, 'AndroidManifest.xml'), rewritten);
  await runTool('zip', ['-q', '-X', unsigned, 'AndroidManifest.xml'], {
    timeoutMs,
    cwd: manifestDir,
  });
  await runTool(
    'apksigner',
    ['sign', '--key', key.keyPath, '--cert', key.certificatePath, '--out', apk, unsigned],
    { timeoutMs },
  );
  return true;
}

function unusable(label: string, why: string, cause?: unknown): CanarytrapError {
  return new CanarytrapError('transplant-apk-unusable', `${label} cannot be rewritten: ${why}`, {
    permanent: true,
    cause,
    hint: 'the vendor APK is damaged or in a format this version does not read; its app cannot be moved',
  });
}
