import { createCipheriv, createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * A client's first QUIC packet (RFC 9000 §17.2.2), protected as RFC 9001 §5 prescribes: what a
 * QUIC-capable app sends before anything else. Its CRYPTO frame holds a TLS 1.3 ClientHello
 * naming the server (SNI) and asking for HTTP/3, so an edge recorder sees what any
 * observer with the public Initial keys sees.
 */

/** QUIC version 1. */
const VERSION = 0x00000001;
/** RFC 9001 §5.2: the salt every version-1 Initial key is derived with. */
const INITIAL_SALT = Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');
/** RFC 9000 §14.1: a client's Initial datagram is padded to at least this. */
export const MIN_INITIAL_DATAGRAM = 1200;
const PACKET_NUMBER_LENGTH = 1;
const TAG_LENGTH = 16;

export interface InitialKeys {
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
}

function hkdfExpandLabel(secret: Buffer, label: string, length: number): Buffer {
  const fullLabel = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([
    u16(length),
    Buffer.from([fullLabel.length]),
    fullLabel,
    Buffer.from([0]),
  ]);
  // HKDF-Expand; every length asked here fits one SHA-256 block.
  return createHmac('sha256', secret)
    .update(Buffer.concat([info, Buffer.from([1])]))
    .digest()
    .subarray(0, length);
}

/** The client's Initial keys for a destination connection id (RFC 9001 §5.2). */
export function clientInitialKeys(destinationConnectionId: Buffer): InitialKeys {
  const initial = createHmac('sha256', INITIAL_SALT).update(destinationConnectionId).digest();
  const client = hkdfExpandLabel(initial, 'client in', 32);
  return {
    key: hkdfExpandLabel(client, 'quic key', 16),
    iv: hkdfExpandLabel(client, 'quic iv', 12),
    hp: hkdfExpandLabel(client, 'quic hp', 16),
  };
}

/** A QUIC variable-length integer (RFC 9000 §16). */
export function varint(value: number): Buffer {
  if (value < 0x40) return Buffer.from([value]);
  if (value < 0x4000) return u16(0x4000 | value);
  if (value < 0x40000000) {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE((0x80000000 | value) >>> 0);
    return bytes;
  }
  throw new RangeError(`${value} is too large for this varint writer`);
}

function u16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(value);
  return bytes;
}

function withU16Length(body: Buffer): Buffer {
  return Buffer.concat([u16(body.length), body]);
}

function extension(type: number, body: Buffer): Buffer {
  return Buffer.concat([u16(type), withU16Length(body)]);
}

function transportParameter(id: number, value: Buffer): Buffer {
  return Buffer.concat([varint(id), varint(value.length), value]);
}

/** A TLS 1.3 ClientHello as QUIC carries it: SNI for a name, ALPN h3, the transport parameters. */
export function clientHello(host: string, sourceConnectionId: Buffer): Buffer {
  const keyShare = generateKeyPairSync('x25519')
    .publicKey.export({ format: 'der', type: 'spki' })
    .subarray(-32);
  const name = Buffer.from(host, 'latin1');
  const extensions = [
    // An address literal is no server name (RFC 6066 §3): no SNI then.
    ...(isIP(host) === 0
      ? [extension(0, withU16Length(Buffer.concat([Buffer.from([0]), withU16Length(name)])))]
      : []),
    extension(10, withU16Length(u16(0x001d))),
    extension(13, withU16Length(Buffer.from([0x04, 0x03, 0x08, 0x04, 0x04, 0x01]))),
    extension(16, withU16Length(Buffer.concat([Buffer.from([2]), Buffer.from('h3')]))),
    extension(43, Buffer.from([2, 0x03, 0x04])),
    extension(45, Buffer.from([1, 1])),
    extension(51, withU16Length(Buffer.concat([u16(0x001d), withU16Length(keyShare)]))),
    extension(
      0x39,
      Buffer.concat([
        transportParameter(0x01, varint(30_000)),
        transportParameter(0x04, varint(1 << 20)),
        transportParameter(0x08, varint(100)),
        transportParameter(0x0f, sourceConnectionId),
      ]),
    ),
  ];
  const body = Buffer.concat([
    u16(0x0303),
    randomBytes(32),
    Buffer.from([0]),
    withU16Length(Buffer.from([0x13, 0x01, 0x13, 0x02, 0x13, 0x03])),
    Buffer.from([1, 0]),
    withU16Length(Buffer.concat(extensions)),
  ]);
  const length = Buffer.alloc(3);
  length.writeUIntBE(body.length, 0, 3);
  return Buffer.concat([Buffer.from([1]), length, body]);
}

/**
 * One protected Initial datagram for `host`, padded to 1200 bytes, with fresh random connection
 * ids and packet number 0.
 */
export function quicInitial(host: string): Buffer {
  const dcid = randomBytes(8);
  const scid = randomBytes(8);
  const hello = clientHello(host, scid);
  const crypto = Buffer.concat([Buffer.from([0x06]), varint(0), varint(hello.length), hello]);
  const headerWithoutLength = Buffer.concat([
    Buffer.from([0xc0 | (PACKET_NUMBER_LENGTH - 1)]),
    Buffer.alloc(4, 0),
    Buffer.from([dcid.length]),
    dcid,
    Buffer.from([scid.length]),
    scid,
    varint(0),
  ]);
  headerWithoutLength.writeUInt32BE(VERSION, 1);
  // The Length field is two bytes here; the rest of the datagram is packet number, payload, tag.
  const payloadLength =
    MIN_INITIAL_DATAGRAM - headerWithoutLength.length - 2 - PACKET_NUMBER_LENGTH - TAG_LENGTH;
  const payload = Buffer.concat([crypto, Buffer.alloc(Math.max(0, payloadLength - crypto.length))]);
  const header = Buffer.concat([
    headerWithoutLength,
    u16(0x4000 | (PACKET_NUMBER_LENGTH + payload.length + TAG_LENGTH)),
    Buffer.alloc(PACKET_NUMBER_LENGTH, 0),
  ]);
  return protect(header, payload, clientInitialKeys(dcid));
}

/** AEAD on the payload, then header protection (RFC 9001 §5.3, §5.4) of packet number 0. */
function protect(header: Buffer, payload: Buffer, keys: InitialKeys): Buffer {
  const packetNumber = 0;
  const nonce = Buffer.from(keys.iv);
  nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ packetNumber) >>> 0, 8);
  const aead = createCipheriv('aes-128-gcm', keys.key, nonce);
  aead.setAAD(header);
  const sealed = Buffer.concat([aead.update(payload), aead.final(), aead.getAuthTag()]);
  const packet = Buffer.concat([header, sealed]);
  const pnOffset = header.length - PACKET_NUMBER_LENGTH;
  const sample = packet.subarray(pnOffset + 4, pnOffset + 4 + 16);
  const hp = createCipheriv('aes-128-ecb', keys.hp, null).setAutoPadding(false);
  const mask = Buffer.concat([hp.update(sample), hp.final()]);
  packet[0] = (packet[0] ?? 0) ^ ((mask[0] ?? 0) & 0x0f);
  for (let i = 0; i < PACKET_NUMBER_LENGTH; i++) {
    packet[pnOffset + i] = (packet[pnOffset + i] ?? 0) ^ (mask[1 + i] ?? 0);
  }
  return packet;
}
