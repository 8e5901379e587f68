import { createHash, X509Certificate } from 'node:crypto';
import { InputError } from '../errors.ts';

/**
 * OpenSSL's `subject_hash_old` of a certificate: MD5 over the DER of the subject name as stored
 * in the certificate, first four bytes read little-endian, as 8 hex digits. Android names its
 * system CA files `<hash>.0` with it. Node exposes the subject only as text, so the name's bytes
 * are cut out of the DER here; the walk below only needs the TLV framing of the first fields.
 */
export function subjectHashOld(certificatePem: string): string {
  let der: Buffer;
  try {
    der = new X509Certificate(certificatePem).raw;
  } catch (error) {
    throw new InputError('certificate-unreadable', 'not a PEM X.509 certificate', { cause: error });
  }
  const md5 = createHash('md5').update(subjectNameDer(der)).digest();
  return md5.readUInt32LE(0).toString(16).padStart(8, '0');
}

interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

/** Certificate ::= SEQ { tbs SEQ { [0] version?, serial, signature, issuer, validity, subject … } } */
export function subjectNameDer(der: Buffer): Buffer {
  const certificate = readTlv(der, 0);
  const tbs = readTlv(der, certificate.contentStart);
  let field = readTlv(der, tbs.contentStart);
  // The version is an explicit [0] tag and absent in v1 certificates.
  if (field.tag === 0xa0) field = readTlv(der, field.end);
  const fieldsBeforeSubject = 4; // serial, signature algorithm, issuer, validity
  for (let i = 0; i < fieldsBeforeSubject; i++) field = readTlv(der, field.end);
  if (field.tag !== 0x30)
    throw malformed(`subject is tag 0x${field.tag.toString(16)}, not a SEQUENCE`);
  return der.subarray(field.start, field.end);
}

function readTlv(der: Buffer, offset: number): Tlv {
  const tag = der[offset];
  const first = der[offset + 1];
  if (tag === undefined || first === undefined) throw malformed(`truncated at byte ${offset}`);
  let length = first;
  let contentStart = offset + 2;
  if (first & 0x80) {
    const lengthBytes = first & 0x7f;
    if (lengthBytes === 0 || lengthBytes > 4)
      throw malformed(`unsupported length form at byte ${offset}`);
    length = 0;
    for (let i = 0; i < lengthBytes; i++) {
      const byte = der[contentStart + i];
      if (byte === undefined) throw malformed(`truncated length at byte ${offset}`);
      length = length * 256 + byte;
    }
    contentStart += lengthBytes;
  }
  const end = contentStart + length;
  if (end > der.length) throw malformed(`field at byte ${offset} runs past the end`);
  return { tag, start: offset, contentStart, end };
}

function malformed(detail: string): InputError {
  return new InputError('certificate-unreadable', `certificate DER is malformed: ${detail}`, {
    hint: 'pass a PEM X.509 certificate',
  });
}
