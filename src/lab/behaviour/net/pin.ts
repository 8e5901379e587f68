import { createHash, X509Certificate } from 'node:crypto';
import { checkServerIdentity, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';
import type { HttpSend } from './http-request.ts';

export type CertificatePin = NonNullable<HttpSend['pin']>;

/** A pin as OkHttp and network security configs write it: SHA-256 of the SubjectPublicKeyInfo, base64. */
export function spkiSha256(certificateDer: Buffer): string {
  const spki = new X509Certificate(certificateDer).publicKey.export({
    type: 'spki',
    format: 'der',
  });
  return createHash('sha256').update(spki).digest('base64');
}

/**
 * The chain as node reports it, leaf first; a self-signed root is its own issuer. Node hands
 * checkServerIdentity the detailed certificate (with its issuers), though its type says less.
 */
function chainOf(leaf: PeerCertificate): Buffer[] {
  const chain: Buffer[] = [];
  const seen = new Set<PeerCertificate>();
  let current: PeerCertificate | undefined = leaf;
  while (current !== undefined && !seen.has(current) && current.raw !== undefined) {
    seen.add(current);
    chain.push(current.raw);
    current =
      'issuerCertificate' in current
        ? (current as DetailedPeerCertificate).issuerCertificate
        : undefined;
  }
  return chain;
}

/**
 * The `checkServerIdentity` of tls.connect: the name check, then the pin where the send has one.
 * Node calls it only once the chain verified against the `ca` given, so a pinned send still
 * trusts nothing the device store does not; the pin narrows that to chains holding a pinned
 * key. The proxy can issue a certificate for any name under the run's CA, but cannot present a
 * pinned key it does not hold: the handshake fails as a pinned app's does.
 */
export function serverIdentityCheck(
  pin: CertificatePin | undefined,
): (host: string, cert: PeerCertificate) => Error | undefined {
  if (pin === undefined) return checkServerIdentity;
  const pins = pin === true ? [] : pin.sha256;
  return (host, cert) => {
    const nameMismatch = checkServerIdentity(host, cert);
    if (nameMismatch !== undefined) return nameMismatch;
    const presented = chainOf(cert).map(spkiSha256);
    if (presented.some((key) => pins.includes(key))) return undefined;
    const pinned =
      pin === true
        ? "the vendor's own key, which no server in the run holds"
        : pins.map((p) => `sha256/${p}`).join(', ');
    return new Error(
      `certificate pinning failure for ${host}: the chain's keys (${presented.map((p) => `sha256/${p}`).join(', ')}) include none pinned (${pinned})`,
    );
  };
}
