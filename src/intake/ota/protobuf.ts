/**
 * The little of the protobuf wire format payload.bin needs: varints and length-delimited
 * fields, read from a buffer that is never trusted (every length is checked against what is left).
 */

export interface ProtoField {
  field: number;
  /** 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. */
  wireType: number;
  /** Varint and fixed values. */
  value: bigint;
  /** Length-delimited bytes (a sub-message, string or bytes). */
  bytes: Buffer;
}

export class ProtoError extends Error {}

const MAX_VARINT_BYTES = 10;
/** Shared by every non-bytes field: a manifest of millions of tiny fields must not cost a Buffer each. */
const EMPTY = Buffer.alloc(0);

/** Every field of one message, in order; repeated fields appear once per value. */
export function readProtoFields(message: Buffer): ProtoField[] {
  const fields: ProtoField[] = [];
  let offset = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      const byte = message[offset++];
      if (byte === undefined) throw new ProtoError('a varint runs past the end of the message');
      result |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if ((byte & 0x80) === 0) return result;
    }
    throw new ProtoError('a varint is longer than 10 bytes');
  };
  while (offset < message.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (field === 0) throw new ProtoError('field number 0');
    let value = 0n;
    let bytes: Buffer = EMPTY;
    switch (wireType) {
      case 0:
        value = varint();
        break;
      case 1:
      case 5: {
        const size = wireType === 1 ? 8 : 4;
        if (offset + size > message.length) throw new ProtoError('a fixed field is cut short');
        value = size === 8 ? message.readBigUInt64LE(offset) : BigInt(message.readUInt32LE(offset));
        offset += size;
        break;
      }
      case 2: {
        const length = varint();
        if (length > BigInt(message.length - offset)) {
          throw new ProtoError(
            `field ${field} declares ${length} bytes, ${message.length - offset} remain`,
          );
        }
        bytes = message.subarray(offset, offset + Number(length));
        offset += Number(length);
        break;
      }
      default:
        throw new ProtoError(`field ${field} has wire type ${wireType}, which is not supported`);
    }
    fields.push({ field, wireType, value, bytes });
  }
  return fields;
}

/** The last varint value of a field (protobuf's rule for a repeated scalar read as singular). */
export function protoUint(fields: readonly ProtoField[], field: number): bigint | undefined {
  let found: bigint | undefined;
  for (const f of fields) if (f.field === field && f.wireType === 0) found = f.value;
  return found;
}

export function protoMessages(fields: readonly ProtoField[], field: number): Buffer[] {
  return fields.filter((f) => f.field === field && f.wireType === 2).map((f) => f.bytes);
}
