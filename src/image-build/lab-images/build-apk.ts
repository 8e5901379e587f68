import { mkdir, writeFile } from 'node:fs/promises';
import { access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CanarytrapError } from '../../errors.ts';
import type { LabApp } from '../../android/lab-image.ts';
import { runTool } from '../../android/tools.ts';
import { manifestXml, receiverSmali } from './app-sources.ts';
import type { SigningKey } from './signing-keys.ts';

/** Debian's android-framework-res: the platform resources every manifest is linked against. */
export const FRAMEWORK_RES_APK = '/usr/share/android-framework-res/framework-res.apk';

export interface BuildApkRequest {
  app: LabApp;
  sdk: number;
  /** An empty directory this build may use. */
  workDir: string;
  key: SigningKey;
  frameworkResPath?: string;
  timeoutMs: number;
}

/** Manifest → aapt2 link; smali → classes.dex; zip it in; sign with apksigner. Returns the APK path. */
export async function buildApk(request: BuildApkRequest): Promise<string> {
  const { app, workDir, timeoutMs } = request;
  const frameworkRes = request.frameworkResPath ?? FRAMEWORK_RES_APK;
  await assertFrameworkRes(frameworkRes);

  const manifestPath = join(workDir, 'AndroidManifest.xml');
  await writeFile(manifestPath, manifestXml(app, request.sdk));
  const unsigned = join(workDir, 'unsigned.apk');
  await runTool('aapt2', ['link', '--manifest', manifestPath, '-I', frameworkRes, '-o', unsigned], {
    timeoutMs,
  });

  const smali = receiverSmali(app);
  const smaliPath = join(workDir, 'smali', smali.relativePath);
  await mkdir(dirname(smaliPath), { recursive: true });
  await writeFile(smaliPath, smali.source);
  const dexPath = join(workDir, 'classes.dex');
  await runTool(
    'smali',
    ['assemble', '--api', String(request.sdk), '-o', dexPath, join(workDir, 'smali')],
    {
      timeoutMs,
    },
  );
  // -X: no extra attributes (uid, times), so the archive depends on content only.
  await runTool('zip', ['-X', '-j', '-q', unsigned, dexPath], { timeoutMs });

  const signed = join(workDir, 'signed.apk');
  await runTool(
    'apksigner',
    [
      'sign',
      '--key',
      request.key.keyPath,
      '--cert',
      request.key.certificatePath,
      '--min-sdk-version',
      String(request.sdk),
      '--out',
      signed,
      unsigned,
    ],
    { timeoutMs },
  );
  return signed;
}

async function assertFrameworkRes(path: string): Promise<void> {
  try {
    await access(path);
  } catch (error) {
    throw new CanarytrapError('tool-missing', `the platform resources ${path} are missing`, {
      cause: error,
      permanent: true,
      hint: 'install them with: apt-get install -y android-framework-res',
    });
  }
}
