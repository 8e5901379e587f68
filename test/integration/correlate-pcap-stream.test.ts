import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  conversationFrames,
  ipFrame,
  pcapHeader,
  pcapRecord,
} from '../fixtures/correlate/pcap-writer.ts';

const FILE_MB = 320;
const PEAK_LIMIT_MB = 200;

test(`a ${FILE_MB} MB pcap is read with bounded memory and its last flow is still found`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ct-correlate-stream-'));
  try {
    const path = join(dir, 'big.pcap');
    const file = await open(path, 'w');
    try {
      await file.write(pcapHeader('raw'));
      // Large ICMP frames: the reader skips them, so only a reader that holds the file grows.
      const icmp = pcapRecord(
        ipFrame('raw', '10.0.2.15', '192.0.2.9', 1, Buffer.alloc(60_000, 0x5a), 1_700_000_000_000),
      );
      const perWrite = Buffer.concat(Array<Buffer>(64).fill(icmp));
      for (let written = 0; written < FILE_MB * 1024 * 1024; written += perWrite.length)
        await file.write(perWrite);
      const body = 'serial=R58M12ABCDE';
      const frames = conversationFrames(
        {
          client: { ip: '10.0.2.15', port: 40999 },
          server: { ip: '192.0.2.10', port: 80 },
          upstream: Buffer.from(
            `POST /last HTTP/1.1\r\nHost: h.example.net\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
          ),
        },
        'raw',
        1_700_000_001_000,
      );
      for (const frame of frames) await file.write(pcapRecord(frame));
    } finally {
      await file.close();
    }
    const child = await execa(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, '../fixtures/correlate/pcap-peak-child.ts'),
        path,
      ],
      { timeout: 60_000 },
    );
    const result = JSON.parse(child.stdout) as {
      flows: Array<{ protocol: string; body?: string }>;
      warnings: string[];
      peakMb: number;
    };
    assert.deepEqual(result.warnings, []);
    assert.equal(result.flows.length, 1);
    assert.equal(
      Buffer.from(result.flows[0]!.body ?? '', 'base64').toString(),
      'serial=R58M12ABCDE',
    );
    assert.ok(
      result.peakMb < PEAK_LIMIT_MB,
      `peak RSS ${result.peakMb.toFixed(0)} MB reading a ${FILE_MB} MB capture (limit ${PEAK_LIMIT_MB} MB)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
