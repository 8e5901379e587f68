/**
 * adb's shell protocol (v2): inside one adb stream, packets of a 1-byte id, a u32 LE length and
 * the data. It carries stdout and stderr apart and the exit code, which the legacy `shell:`
 * service loses.
 */

export const ShellPacketId = {
  stdin: 0,
  stdout: 1,
  stderr: 2,
  exit: 3,
  closeStdin: 4,
  windowSizeChange: 5,
} as const;

export const SHELL_PACKET_HEADER_SIZE = 5;

export interface ShellPacket {
  id: number;
  data: Buffer;
}

export function encodeShellPacket(id: number, data: Buffer): Buffer {
  const header = Buffer.alloc(SHELL_PACKET_HEADER_SIZE);
  header.writeUInt8(id, 0);
  header.writeUInt32LE(data.length, 1);
  return Buffer.concat([header, data]);
}

/** Packets of one kind of output, none larger than what fits in one adb WRTE. */
export function encodeShellOutput(id: number, data: Buffer, maxPayload: number): Buffer[] {
  const room = Math.max(1, maxPayload - SHELL_PACKET_HEADER_SIZE);
  const packets: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += room) {
    packets.push(encodeShellPacket(id, data.subarray(offset, offset + room)));
  }
  return packets;
}

export function encodeExitPacket(exitCode: number): Buffer {
  return encodeShellPacket(ShellPacketId.exit, Buffer.from([exitCode & 0xff]));
}

/** Cuts the host's side of a shell-protocol stream into packets; packets may span WRTEs. */
export class ShellPacketDecoder {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): ShellPacket[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const packets: ShellPacket[] = [];
    while (this.buffered.length >= SHELL_PACKET_HEADER_SIZE) {
      const length = this.buffered.readUInt32LE(1);
      if (this.buffered.length < SHELL_PACKET_HEADER_SIZE + length) break;
      packets.push({
        id: this.buffered.readUInt8(0),
        data: Buffer.from(
          this.buffered.subarray(SHELL_PACKET_HEADER_SIZE, SHELL_PACKET_HEADER_SIZE + length),
        ),
      });
      this.buffered = this.buffered.subarray(SHELL_PACKET_HEADER_SIZE + length);
    }
    return packets;
  }
}
