import { readFile } from 'node:fs/promises';

/**
 * The frames of a classic pcap file (as `dumpcap -P` writes it), with its link type. Enough for
 * tests that look for packets; the project's own reader lives in src/correlate.
 */
export async function readPcapFrames(
  path: string,
): Promise<{ linkType: number; frames: Buffer[] }> {
  const bytes = await readFile(path);
  const magic = bytes.readUInt32LE(0);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!little && bytes.readUInt32BE(0) !== 0xa1b2c3d4 && bytes.readUInt32BE(0) !== 0xa1b23c4d) {
    throw new Error(`${path} is not a classic pcap file`);
  }
  const u32 = (at: number) => (little ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  const linkType = u32(20);
  const frames: Buffer[] = [];
  for (let at = 24; at + 16 <= bytes.length;) {
    const captured = u32(at + 8);
    // A file still being written may end inside a record: that record is not there yet.
    if (at + 16 + captured > bytes.length) break;
    frames.push(bytes.subarray(at + 16, at + 16 + captured));
    at += 16 + captured;
  }
  return { linkType, frames };
}
