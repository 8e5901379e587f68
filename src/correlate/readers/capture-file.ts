import { open, type FileHandle } from 'node:fs/promises';
import { InputError } from '../../errors.ts';
import { FileWindow } from './file-window.ts';

/** One captured frame: when, which link layer, which bytes. */
export interface CapturedPacket {
  /** ms since the epoch (fractional). */
  t: number;
  linkType: number;
  data: Buffer;
  /** Byte offset of the record in the file, for messages. */
  offset: number;
}

/** Records and blocks larger than this are damage, not packets (snaplen is at most 256 KiB in practice). */
const MAX_RECORD = 0x4000000;

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
async function* pcapPackets(
  file: string,
  window: FileWindow,
  warnings: string[],
): AsyncGenerator<CapturedPacket> {
  if (window.size < 24) throw unreadable(file, 'pcap header is cut short', 0);
  const head = await window.view(0, 24);
  const format = PCAP_MAGIC[head.readUInt32BE(0)]!;
  const u32 = (b: Buffer, at: number): number =>
    format.le ? b.readUInt32LE(at) : b.readUInt32BE(at);
  const linkType = u32(head, 20) & 0x0fffffff;
  const size = window.size;
  let count = 0;
  let at = 24;
  while (at < size) {
    if (at + 16 > size) {
      warnings.push(
        `${file}: truncated record header at byte ${at}; kept the ${count} packets before it`,
      );
      return;
    }
    const record = await window.view(at, 16);
    const seconds = u32(record, 0);
    const fraction = u32(record, 4);
    const captured = u32(record, 8);
    if (captured > MAX_RECORD) {
      if (count === 0) throw unreadable(file, `record claims ${captured} bytes`, at);
      warnings.push(
        `${file}: record at byte ${at} claims ${captured} bytes; kept the ${count} packets before it`,
      );
      return;
    }
    if (at + 16 + captured > size) {
      warnings.push(
        `${file}: truncated packet at byte ${at} (${captured} bytes announced, ${size - at - 16} present); kept the ${count} packets before it`,
      );
      return;
    }
    // A copy: the window's buffer is reused for the next records.
    const data = Buffer.from(await window.view(at + 16, captured));
    count++;
    yield { t: seconds * 1000 + fraction / (format.nano ? 1e6 : 1e3), linkType, data, offset: at };
    at += 16 + captured;
  }
}

interface Interface {
  linkType: number;
  /** Seconds per timestamp unit. */
  unit: number;
}

const KNOWN_BLOCKS = new Set([0x0a0d0d0a, 1, 2, 3, 4, 5, 6, 0x0a, 0x0bad, 0x40000bad]);

/** pcapng: SHB, IDB, EPB, SPB (and the obsolete PB); other blocks skipped; garbage resynchronised. */
async function* pcapngPackets(
  file: string,
  window: FileWindow,
  warnings: string[],
): AsyncGenerator<CapturedPacket> {
  const size = window.size;
  let le = true;
  let interfaces: Interface[] = [];
  const u32 = (b: Buffer, at: number): number => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const u16 = (b: Buffer, at: number): number => (le ? b.readUInt16LE(at) : b.readUInt16BE(at));
  /** The whole block at `at` if its header and trailer agree, else undefined. */
  const blockAt = async (at: number, knownOnly: boolean): Promise<Buffer | undefined> => {
    if (at + 12 > size) return undefined;
    const head = await window.view(at, 12);
    const type = u32(head, 0);
    const length = u32(head, 4);
    if (knownOnly && !KNOWN_BLOCKS.has(type)) return undefined;
    if (length < 12 || length % 4 !== 0 || length > MAX_RECORD || at + length > size)
      return undefined;
    const block = await window.view(at, length);
    return u32(block, length - 4) === length ? block : undefined;
  };
  let at = 0;
  while (at < size) {
    if (at + 12 > size) {
      warnings.push(`${file}: ${size - at} trailing bytes at byte ${at} are not a block; ignored`);
      return;
    }
    const head = await window.view(at, 12);
    if (head.readUInt32BE(0) === 0x0a0d0d0a) {
      const magic = head.readUInt32LE(8);
      if (magic === 0x1a2b3c4d) le = true;
      else if (magic === 0x4d3c2b1a) le = false;
      else throw unreadable(file, 'section header with an unknown byte-order magic', at);
      interfaces = [];
    }
    const block = await blockAt(at, false);
    if (!block) {
      if (at === 0) throw unreadable(file, 'first block is not a valid pcapng section header', at);
      let next = at + 4;
      while (next + 12 <= size && !(await blockAt(next, true))) next += 4;
      warnings.push(`${file}: malformed block at byte ${at}; skipped ${next - at} bytes`);
      at = next;
      continue;
    }
    const type = u32(block, 0);
    const length = block.length;
    if (type === 1) {
      let unit = 1e-6;
      let opt = 16;
      while (opt + 4 <= length - 4) {
        const code = u16(block, opt);
        const optLength = u16(block, opt + 2);
        if (code === 0) break;
        if (code === 9 && optLength >= 1) {
          const v = block[opt + 4]!;
          unit = v & 0x80 ? 2 ** -(v & 0x7f) : 10 ** -v;
        }
        opt += 4 + ((optLength + 3) & ~3);
      }
      interfaces.push({ linkType: u16(block, 8), unit });
    } else if (type === 6 || type === 2) {
      const iface = interfaces[type === 6 ? u32(block, 8) : u16(block, 8)];
      // Its fixed fields end at byte 28, before the trailing length: a shorter block (fuzzing
      // made one) has no captured length to read, and overruns itself like a lying one.
      const captured = length >= 32 ? u32(block, 20) : Infinity;
      if (!iface || 28 + captured > length)
        warnings.push(
          `${file}: packet block at byte ${at} names no interface or overruns its block; skipped`,
        );
      else {
        const ticks = u32(block, 12) * 2 ** 32 + u32(block, 16);
        yield {
          t: ticks * iface.unit * 1000,
          linkType: iface.linkType,
          data: Buffer.from(block.subarray(28, 28 + captured)),
          offset: at,
        };
      }
    } else if (type === 3) {
      const iface = interfaces[0];
      const captured = Math.min(u32(block, 8), length - 16);
      if (iface)
        yield {
          t: 0,
          linkType: iface.linkType,
          data: Buffer.from(block.subarray(12, 12 + captured)),
          offset: at,
        };
    }
    at += length;
  }
}

/**
 * The packets of a pcap or pcapng file, read from disk record by record (memory does not grow
 * with the file). Damage after the first packet is skipped with a warning pushed to `warnings`;
 * a file that is not a capture at all is an InputError naming file and byte.
 */
export async function* capturePackets(
  file: string,
  warnings: string[],
): AsyncGenerator<CapturedPacket> {
  let handle: FileHandle;
  let size: number;
  try {
    handle = await open(file, 'r');
    size = (await handle.stat()).size;
  } catch (error) {
    throw new InputError('capture-unreadable', `${file}: cannot read the file`, {
      cause: error,
      hint: 'check the path and permissions',
    });
  }
  try {
    const window = new FileWindow(handle, size);
    if (size < 4) throw unreadable(file, 'file is too short to be a capture', 0);
    const magic = (await window.view(0, 4)).readUInt32BE(0);
    if (PCAP_MAGIC[magic]) yield* pcapPackets(file, window, warnings);
    else if (magic === 0x0a0d0d0a) yield* pcapngPackets(file, window, warnings);
    else
      throw unreadable(
        file,
        `unknown file magic 0x${magic.toString(16).padStart(8, '0')} (not pcap or pcapng)`,
        0,
      );
  } finally {
    await handle.close();
  }
}
