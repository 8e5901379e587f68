/** TLS record layer and the two hello messages, read from reassembled TCP streams. */
export interface TlsRecord {
  type: number;
  /** The 5-byte record header, which TLS 1.3 authenticates as additional data. */
  header: Buffer;
  fragment: Buffer;
}

export const CONTENT = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23 };

/** Whole records of a stream; a record cut off by the end of the capture is dropped. */
export function splitRecords(stream: Buffer): { records: TlsRecord[]; truncated: boolean } {
  const records: TlsRecord[] = [];
  let at = 0;
  while (at + 5 <= stream.length) {
    const length = stream.readUInt16BE(at + 3);
    if (stream[at + 1] !== 3 || at + 5 + length > stream.length) break;
    records.push({
      type: stream[at]!,
      header: stream.subarray(at, at + 5),
      fragment: stream.subarray(at + 5, at + 5 + length),
    });
    at += 5 + length;
  }
  return { records, truncated: at < stream.length };
}

interface HandshakeMessage {
  type: number;
  body: Buffer;
}

/**
 * Plaintext handshake messages at the start of a stream, reassembled across records. Stops at
 * the first record that is neither handshake nor ChangeCipherSpec: what follows is encrypted.
 */
function leadingHandshakes(records: TlsRecord[], wanted: (m: HandshakeMessage) => boolean) {
  let buffered = Buffer.alloc(0);
  for (const record of records) {
    if (record.type === CONTENT.changeCipherSpec) continue;
    if (record.type !== CONTENT.handshake) return undefined;
    buffered = Buffer.concat([buffered, record.fragment]);
    while (buffered.length >= 4) {
      const length = buffered.readUIntBE(1, 3);
      if (buffered.length < 4 + length) break;
      const message = { type: buffered[0]!, body: buffered.subarray(4, 4 + length) };
      if (wanted(message)) return message;
      buffered = buffered.subarray(4 + length);
    }
  }
  return undefined;
}

export function clientRandom(records: TlsRecord[]): Buffer | undefined {
  const hello = leadingHandshakes(records, (m) => m.type === 1);
  return hello && hello.body.length >= 34 ? hello.body.subarray(2, 34) : undefined;
}

// RFC 8446 §4.1.3: a HelloRetryRequest is a ServerHello with this random.
const RETRY_RANDOM = 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c';

export interface ServerHello {
  random: Buffer;
  cipherSuite: number;
  tls13: boolean;
}

export function serverHello(records: TlsRecord[]): ServerHello | undefined {
  const isRealHello = (m: HandshakeMessage): boolean =>
    m.type === 2 && m.body.length >= 38 && m.body.toString('hex', 2, 34) !== RETRY_RANDOM;
  const hello = leadingHandshakes(records, isRealHello);
  if (!hello) return undefined;
  const body = hello.body;
  let at = 34;
  at += 1 + body[at]!;
  if (at + 3 > body.length) return undefined;
  const suite = body.readUInt16BE(at);
  at += 3;
  let tls13 = false;
  if (at + 2 <= body.length) {
    const end = Math.min(body.length, at + 2 + body.readUInt16BE(at));
    at += 2;
    while (at + 4 <= end) {
      const type = body.readUInt16BE(at);
      const length = body.readUInt16BE(at + 2);
      // supported_versions: the server picked TLS 1.3 here, not in the legacy version field.
      if (type === 43 && length === 2 && at + 6 <= end && body.readUInt16BE(at + 4) === 0x0304)
        tls13 = true;
      at += 4 + length;
    }
  }
  return { random: body.subarray(2, 34), cipherSuite: suite, tls13 };
}
