import { join } from 'node:path';
import { runTool } from '../../android/tools.ts';

/** A PKCS#12 keystore holding one key, as apksigner takes it. */
export interface SigningKey {
  keystorePath: string;
  alias: string;
  password: string;
}

/**
 * Two keys per build, as a vendor has them: the platform key (apps running as
 * android.uid.system must carry it) and a separate key for ordinary apps, so the inventory can
 * tell platform-signed apps apart.
 */
export interface LabSigningKeys {
  platform: SigningKey;
  vendor: SigningKey;
}

export async function generateSigningKeys(dir: string, timeoutMs: number): Promise<LabSigningKeys> {
  const [platform, vendor] = await Promise.all([
    generateKey(dir, 'platform', 'CN=Lab Platform, OU=Android, O=canarytrap lab', timeoutMs),
    generateKey(dir, 'vendor', 'CN=Lab Vendor Apps, O=canarytrap lab', timeoutMs),
  ]);
  return { platform, vendor };
}

/** One fresh key (P-256) in a PKCS#12 keystore under `dir`. */
export async function generateKey(
  dir: string,
  alias: string,
  dname: string,
  timeoutMs: number,
): Promise<SigningKey> {
  // A throwaway key for synthetic firmware: the password only satisfies keytool.
  const key: SigningKey = {
    keystorePath: join(dir, `${alias}.p12`),
    alias,
    password: 'canarytrap-lab',
  };
  await runTool(
    'keytool',
    [
      '-genkeypair',
      '-keystore',
      key.keystorePath,
      '-storetype',
      'PKCS12',
      '-storepass',
      key.password,
      '-keypass',
      key.password,
      '-alias',
      alias,
      // P-256 rather than RSA: keytool makes it in a fraction of the time, and Android has
      // verified ECDSA APK signatures since API 18, below every lab image.
      '-keyalg',
      'EC',
      '-groupname',
      'secp256r1',
      '-validity',
      '10000',
      '-dname',
      dname,
    ],
    { timeoutMs },
  );
  return key;
}
