/**
 * Reads the server name (SNI) from the first bytes a TLS client sends. The proxy needs it per
 * connection, before and regardless of whether the handshake succeeds, and mockttp reports it
 * only for failed handshakes. Returns undefined when the bytes are not a ClientHello or the
 * hello is not complete in them.
 */
export function readClientHelloSni(bytes: Buffer): string | undefined {
  // Record header: type 22 (handshake), version, length. Handshake header: type 1, length (3).
  if (!looksLikeTls(bytes) || bytes[5] !== 0x01) return undefined;
  const reader = new ByteReader(bytes, 9);
  reader.skip(2 + 32); // client version, random
  reader.skip(reader.u8()); // session id
  reader.skip(reader.u16()); // cipher suites
  reader.skip(reader.u8()); // compression methods
  const extensionsEnd = reader.offset + reader.u16();
  while (reader.ok && reader.offset + 4 <= extensionsEnd) {
    const type = reader.u16();
    const length = reader.u16();
    if (type !== 0x0000) {
      reader.skip(length);
      continue;
    }
    // server_name: list length, then entries of (name type, name length, name); type 0 is a host name.
    const listEnd = reader.offset + reader.u16();
    while (reader.ok && reader.offset + 3 <= listEnd) {
      const nameType = reader.u8();
      const name = reader.bytes(reader.u16());
      if (nameType === 0 && name) return name.toString('ascii');
    }
    return undefined;
  }
  return undefined;
}

/** A TLS handshake record header: content type 22, major version 3. */
export function looksLikeTls(bytes: Buffer): boolean {
  return bytes.length >= 3 && bytes[0] === 0x16 && bytes[1] === 0x03;
}

class ByteReader {
  ok = true;
  constructor(
    private readonly buffer: Buffer,
    public offset: number,
  ) {}

  u8(): number {
    return this.take(1)?.readUInt8(0) ?? 0;
  }

  u16(): number {
    return this.take(2)?.readUInt16BE(0) ?? 0;
  }

  skip(n: number): void {
    this.take(n);
  }

  bytes(n: number): Buffer | undefined {
    return this.take(n);
  }

  private take(n: number): Buffer | undefined {
    if (!this.ok || this.offset + n > this.buffer.length) {
      this.ok = false;
      return undefined;
    }
    const slice = this.buffer.subarray(this.offset, this.offset + n);
    this.offset += n;
    return slice;
  }
}
