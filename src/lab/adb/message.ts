/**
 * The adb transport message: a 24-byte little-endian header (command, arg0, arg1, data length,
 * data checksum, magic = command ^ 0xffffffff) followed by the payload.
 */

export const HEADER_SIZE = 24;

/** Protocol version this device speaks; from this version on, peers may skip the checksum. */
export const A_VERSION = 0x01000001;

/** The largest payload this device accepts or sends (adb's MAX_PAYLOAD_V2). */
export const MAX_PAYLOAD = 256 * 1024;

function commandId(name: string): number {
  return Buffer.from(name, 'latin1').readUInt32LE(0);
}

export const A_CNXN = commandId('CNXN');
export const A_OPEN = commandId('OPEN');
export const A_OKAY = commandId('OKAY');
export const A_WRTE = commandId('WRTE');
export const A_CLSE = commandId('CLSE');
export const A_AUTH = commandId('AUTH');
export const A_SYNC = commandId('SYNC');
export const A_STLS = commandId('STLS');

const KNOWN_COMMANDS = new Set([A_CNXN, A_OPEN, A_OKAY, A_WRTE, A_CLSE, A_AUTH, A_SYNC, A_STLS]);

export interface AdbMessage {
  command: number;
  arg0: number;
  arg1: number;
  data: Buffer;
}

export function commandName(command: number): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(command >>> 0, 0);
  return /^[A-Z0-9]{4}$/.test(bytes.toString('latin1'))
    ? bytes.toString('latin1')
    : `0x${(command >>> 0).toString(16)}`;
}

/** The byte sum adb peers before version 0x01000001 check; newer ones ignore it. */
export function dataChecksum(data: Buffer): number {
  let sum = 0;
  for (const byte of data) sum = (sum + byte) >>> 0;
  return sum;
}

export function encodeMessage(message: AdbMessage): Buffer {
  const header = Buffer.alloc(HEADER_SIZE);
  header.writeUInt32LE(message.command >>> 0, 0);
  header.writeUInt32LE(message.arg0 >>> 0, 4);
  header.writeUInt32LE(message.arg1 >>> 0, 8);
  header.writeUInt32LE(message.data.length, 12);
  header.writeUInt32LE(dataChecksum(message.data), 16);
  header.writeUInt32LE((message.command ^ 0xffffffff) >>> 0, 20);
  return Buffer.concat([header, message.data]);
}

export class AdbProtocolError extends Error {
  override readonly name = 'AdbProtocolError';
}

/**
 * Cuts a byte stream into messages. Throws AdbProtocolError on a header no adb peer would send
 * (bad magic, unknown command, payload over the limit); the connection is then unusable,
 * since there is no way to find the next header.
 */
export class AdbMessageDecoder {
  private buffered: Buffer = Buffer.alloc(0);
  private readonly maxPayload: number;

  constructor(maxPayload: number = MAX_PAYLOAD) {
    this.maxPayload = maxPayload;
  }

  push(chunk: Buffer): AdbMessage[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const messages: AdbMessage[] = [];
    while (this.buffered.length >= HEADER_SIZE) {
      const command = this.buffered.readUInt32LE(0);
      const length = this.buffered.readUInt32LE(12);
      const magic = this.buffered.readUInt32LE(20);
      if (magic !== (command ^ 0xffffffff) >>> 0) {
        throw new AdbProtocolError(`bad magic in header of ${commandName(command)}`);
      }
      if (!KNOWN_COMMANDS.has(command)) {
        throw new AdbProtocolError(`unknown command ${commandName(command)}`);
      }
      if (length > this.maxPayload) {
        throw new AdbProtocolError(
          `${commandName(command)} payload of ${length} bytes exceeds ${this.maxPayload}`,
        );
      }
      if (this.buffered.length < HEADER_SIZE + length) break;
      messages.push({
        command,
        arg0: this.buffered.readUInt32LE(4),
        arg1: this.buffered.readUInt32LE(8),
        data: Buffer.from(this.buffered.subarray(HEADER_SIZE, HEADER_SIZE + length)),
      });
      this.buffered = this.buffered.subarray(HEADER_SIZE + length);
    }
    return messages;
  }

  /** Bytes received that do not yet form a whole message. */
  get pendingBytes(): number {
    return this.buffered.length;
  }
}
