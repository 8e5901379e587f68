import { randomBytes, webcrypto } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** A signing key as apksigner takes it (`--key`, `--cert`): a PKCS#8 DER key and its certificate. */
export interface SigningKey {
  keyPath: string;
  certificatePath: string;
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

export async function generateSigningKeys(dir: string): Promise<LabSigningKeys> {
  const [platform, vendor] = await Promise.all([
    generateKey(dir, 'platform', 'CN=Lab Platform, OU=Android, O=canarytrap lab'),
    generateKey(dir, 'vendor', 'CN=Lab Vendor Apps, O=canarytrap lab'),
  ]);
  return { platform, vendor };
}

const SIGNING = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const YEAR_MS = 365 * 24 * 60 * 60 * 1000;

/**
 * One fresh self-signed key under `dir`. Made in-process rather than with keytool: a JVM start
 * per key cost more than the rest of a small image's build. P-256, because Android has verified
 * ECDSA APK signatures since API 18, below every lab image.
 */
export async function generateKey(dir: string, alias: string, dname: string): Promise<SigningKey> {
  const keys = await webcrypto.subtle.generateKey(SIGNING, true, ['sign', 'verify']);
  const notBefore = new Date('2009-01-01T00:00:00Z');
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    // Positive, 16 bytes.
    serialNumber: `01${randomBytes(15).toString('hex')}`,
    name: dname,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 30 * YEAR_MS),
    signingAlgorithm: SIGNING,
    keys,
  });
  const key: SigningKey = {
    keyPath: join(dir, `${alias}.pk8`),
    certificatePath: join(dir, `${alias}.x509.pem`),
  };
  await writeFile(
    key.keyPath,
    Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
    { mode: 0o600 },
  );
  await writeFile(key.certificatePath, certificate.toString('pem'));
  return key;
}
