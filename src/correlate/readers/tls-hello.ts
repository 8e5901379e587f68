/** The server name (SNI) of a TLS ClientHello at the start of a client stream, if there is one. */
export function isTlsHandshake(stream: Buffer): boolean {
  return stream.length >= 6 && stream[0] === 0x16 && stream[1] === 0x03 && stream[5] === 0x01;
}

export function clientHelloSni(stream: Buffer): string | undefined {
  if (!isTlsHandshake(stream)) return undefined;
  const record = stream.subarray(5, 5 + stream.readUInt16BE(3));
  // Handshake header (4), version (2), random (32).
  let at = 4 + 2 + 32;
  if (at + 1 > record.length) return undefined;
  at += 1 + record[at]!;
  if (at + 2 > record.length) return undefined;
  at += 2 + record.readUInt16BE(at);
  if (at + 1 > record.length) return undefined;
  at += 1 + record[at]!;
  if (at + 2 > record.length) return undefined;
  const end = Math.min(record.length, at + 2 + record.readUInt16BE(at));
  at += 2;
  while (at + 4 <= end) {
    const type = record.readUInt16BE(at);
    const length = record.readUInt16BE(at + 2);
    if (type === 0 && at + 9 <= end) {
      const nameLength = record.readUInt16BE(at + 7);
      return record.toString('latin1', at + 9, Math.min(end, at + 9 + nameLength));
    }
    at += 4 + length;
  }
  return undefined;
}
