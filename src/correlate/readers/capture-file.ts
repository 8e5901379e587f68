import { InputError } from '../../errors.ts';

/** One captured frame: when, which link layer, which bytes. */
export interface CapturedPacket {
  /** ms since the epoch (fractional). */
  t: number;
  linkType: number;
  data: Buffer;
  /** Byte offset of the record in the file, for messages. */
  offset: number;
}

export interface PacketFile {
  packets: CapturedPacket[];
  warnings: string[];
}

function unreadable(file: string, message: string, offset: number): InputError {
  return new InputError('capture-unreadable', `${file}: ${message} at byte ${offset}`, {
    hint: 'check that the file is a complete pcap or pcapng capture',
    details: { file, offset },
  });
}

const PCAP_MAGIC: Record<number, { le: boolean; nano: boolean }> = {
  0xa1b2c3d4: { le: false, nano: false },
  0xd4c3b2a1: { le: true, nano: false },
  0xa1b23c4d: { le: false, nano: true },
  0x4d3cb2a1: { le: true, nano: true },
};

/** Classic pcap, either byte order, micro- or nanosecond timestamps. */
function parsePcap(file: string, bytes: Buffer): PacketFile {
  const format = PCAP_MAGIC[bytes.readUInt32BE(0)]!;
  const u32 = (at: number): number => (format.le ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  if (bytes.length < 24) throw unreadable(file, 'pcap header is cut short', 0);
  const linkType = u32(20) & 0x0fffffff;
  const packets: CapturedPacket[] = [];
  const warnings: string[] = [];
  let at = 24;
  while (at < bytes.length) {
    if (at + 16 > bytes.length) {
      warnings.push(
        `${file}: truncated record header at byte ${at}; kept the ${packets.length} packets before it`,
      );
      break;
    }
    const seconds = u32(at);
    const fraction = u32(at + 4);
    const captured = u32(at + 8);
    if (captured > 0x4000000) {
      if (packets.length === 0) throw unreadable(file, `record claims ${captured} bytes`, at);
      warnings.push(
        `${file}: record at byte ${at} claims ${captured} bytes; kept the ${packets.length} packets before it`,
      );
      break;
    }
    if (at + 16 + captured > bytes.length) {
      warnings.push(
        `${file}: truncated packet at byte ${at} (${captured} bytes announced, ${bytes.length - at - 16} present); kept the ${packets.length} packets before it`,
      );
      break;
    }
    packets.push({
      t: seconds * 1000 + fraction / (format.nano ? 1e6 : 1e3),
      linkType,
      data: bytes.subarray(at + 16, at + 16 + captured),
      offset: at,
    });
    at += 16 + captured;
  }
  return { packets, warnings };
}

interface Interface {
  linkType: number;
  /** Seconds per timestamp unit. */
  unit: number;
}

const KNOWN_BLOCKS = new Set([0x0a0d0d0a, 1, 2, 3, 4, 5, 6, 0x0a, 0x0bad, 0x40000bad]);

/** pcapng: SHB, IDB, EPB, SPB (and the obsolete PB); other blocks skipped; garbage resynchronised. */
function parsePcapng(file: string, bytes: Buffer): PacketFile {
  const packets: CapturedPacket[] = [];
  const warnings: string[] = [];
  let le = true;
  let interfaces: Interface[] = [];
  const u32 = (at: number): number => (le ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  const u16 = (at: number): number => (le ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at));
  const validAt = (at: number): boolean => {
    if (at + 12 > bytes.length) return false;
    const type = u32(at);
    const length = u32(at + 4);
    return (
      KNOWN_BLOCKS.has(type) &&
      length >= 12 &&
      length % 4 === 0 &&
      at + length <= bytes.length &&
      u32(at + length - 4) === length
    );
  };
  let at = 0;
  while (at < bytes.length) {
    if (at + 12 > bytes.length) {
      warnings.push(
        `${file}: ${bytes.length - at} trailing bytes at byte ${at} are not a block; ignored`,
      );
      break;
    }
    if (bytes.readUInt32BE(at) === 0x0a0d0d0a) {
      const magic = bytes.readUInt32LE(at + 8);
      if (magic === 0x1a2b3c4d) le = true;
      else if (magic === 0x4d3c2b1a) le = false;
      else throw unreadable(file, 'section header with an unknown byte-order magic', at);
      interfaces = [];
    }
    const type = u32(at);
    const length = u32(at + 4);
    if (
      length < 12 ||
      length % 4 !== 0 ||
      at + length > bytes.length ||
      u32(at + length - 4) !== length
    ) {
      if (at === 0) throw unreadable(file, 'first block is not a valid pcapng section header', at);
      let next = at + 4;
      while (next + 12 <= bytes.length && !validAt(next)) next += 4;
      warnings.push(`${file}: malformed block at byte ${at}; skipped ${next - at} bytes`);
      at = next;
      continue;
    }
    const body = at + 8;
    if (type === 1) {
      let unit = 1e-6;
      let opt = body + 8;
      while (opt + 4 <= at + length - 4) {
        const code = u16(opt);
        const optLength = u16(opt + 2);
        if (code === 0) break;
        if (code === 9 && optLength >= 1) {
          const v = bytes[opt + 4]!;
          unit = v & 0x80 ? 2 ** -(v & 0x7f) : 10 ** -v;
        }
        opt += 4 + ((optLength + 3) & ~3);
      }
      interfaces.push({ linkType: u16(body), unit });
    } else if (type === 6 || type === 2) {
      const iface = interfaces[type === 6 ? u32(body) : u16(body)];
      const captured = u32(body + 12);
      if (!iface || body + 20 + captured > at + length)
        warnings.push(
          `${file}: packet block at byte ${at} names no interface or overruns its block; skipped`,
        );
      else {
        const ticks = u32(body + 4) * 2 ** 32 + u32(body + 8);
        packets.push({
          t: ticks * iface.unit * 1000,
          linkType: iface.linkType,
          data: bytes.subarray(body + 20, body + 20 + captured),
          offset: at,
        });
      }
    } else if (type === 3) {
      const iface = interfaces[0];
      const original = u32(body);
      const captured = Math.min(original, length - 16);
      if (iface)
        packets.push({
          t: 0,
          linkType: iface.linkType,
          data: bytes.subarray(body + 4, body + 4 + captured),
          offset: at,
        });
    }
    at += length;
  }
  return { packets, warnings };
}

export function parseCaptureFile(file: string, bytes: Buffer): PacketFile {
  if (bytes.length < 4) throw unreadable(file, 'file is too short to be a capture', 0);
  const magic = bytes.readUInt32BE(0);
  if (PCAP_MAGIC[magic]) return parsePcap(file, bytes);
  if (magic === 0x0a0d0d0a) return parsePcapng(file, bytes);
  throw unreadable(
    file,
    `unknown file magic 0x${magic.toString(16).padStart(8, '0')} (not pcap or pcapng)`,
    0,
  );
}
