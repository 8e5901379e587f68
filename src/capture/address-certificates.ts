import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** The leaf key every address certificate of a run shares: P-256, cheap to make. */
const LEAF_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Server certificates for IP addresses, issued by the run's CA. A client that connects to an
 * address literal sends no SNI and checks the address against the certificate's IP
 * subjectAltNames; the interception server (mockttp) issues certificates for DNS names only, so
 * TLS to an address (DNS over HTTPS to a resolver's address, a hard-coded upload server) is
 * terminated with one of these instead. One certificate per address, made on first use.
 */
export class AddressCertificates {
  private readonly contexts = new Map<string, Promise<SecureContext>>();
  private leafKeys: Promise<CryptoKeyPair> | undefined;

  constructor(private readonly ca: { certificatePem: string; keyPem: string }) {}

  /** A TLS context presenting a certificate for `ip`, chained to the run's CA. */
  contextFor(ip: string): Promise<SecureContext> {
    let context = this.contexts.get(ip);
    if (context === undefined) {
      context = this.issue(ip);
      // A failure is not cached: the next connection tries again.
      context.catch(() => this.contexts.delete(ip));
      this.contexts.set(ip, context);
    }
    return context;
  }

  private async issue(ip: string): Promise<SecureContext> {
    if (isIP(ip) === 0) throw new Error(`"${ip}" is not an IP address`);
    this.leafKeys ??= webcrypto.subtle.generateKey(LEAF_KEY, true, [
      'sign',
      'verify',
    ]) as Promise<CryptoKeyPair>;
    const keys = await this.leafKeys;
    const caCert = new x509.X509Certificate(this.ca.certificatePem);
    const { signingKey, algorithm } = await importCaKey(this.ca.keyPem);
    const notBefore = new Date(Date.now() - DAY_MS);
    const certificate = await x509.X509CertificateGenerator.create({
      // Positive, 16 bytes: unique enough within a run.
      serialNumber: `01${randomBytes(15).toString('hex')}`,
      subject: `CN=${ip}`,
      issuer: caCert.subject,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 30 * DAY_MS),
      signingAlgorithm: algorithm,
      publicKey: keys.publicKey,
      signingKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: ip }], false),
        await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
      ],
    });
    const leafKey = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    return createSecureContext({
      key: createPrivateKey({ key: leafKey, format: 'der', type: 'pkcs8' }).export({
        format: 'pem',
        type: 'pkcs8',
      }),
      cert: `${certificate.toString('pem')}\n${this.ca.certificatePem}`,
    });
  }
}

/** The CA's key for signing, RSA (the run CA) or EC. */
async function importCaKey(
  keyPem: string,
): Promise<{ signingKey: CryptoKey; algorithm: Algorithm | EcdsaParams }> {
  const key = createPrivateKey(keyPem);
  const der = key.export({ format: 'der', type: 'pkcs8' });
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'P-384' : 'P-256';
    const hash = curve === 'P-384' ? 'SHA-384' : 'SHA-256';
    const signingKey = await webcrypto.subtle.importKey(
      'pkcs8',
      der,
      { name: 'ECDSA', namedCurve: curve },
      false,
      ['sign'],
    );
    return { signingKey, algorithm: { name: 'ECDSA', hash } };
  }
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const signingKey = await webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
  return { signingKey, algorithm };
}
