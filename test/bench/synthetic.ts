import { randomBytes, randomInt } from 'node:crypto';
import { open } from 'node:fs/promises';
import zlib from 'node:zlib';
import type { CanarySet } from '../../src/canary/types.ts';

/**
 * A synthetic capture: HTTP request heads, JSON bodies full of digits and ids, base64 blobs,
 * gzip members and TLS-like random records, with canaries planted (plain, base64, hex, inside
 * gzip) about once per 256 KiB. Built from a pool reused with fresh plants, so 1 GB writes fast.
 */
function poolBlock(): Buffer {
  const parts: Buffer[] = [];
  let size = 0;
  while (size < 4 * 1024 * 1024) {
    const kind = randomInt(10);
    let part: Buffer;
    if (kind < 3) {
      part = Buffer.from(
        `POST /api/v${randomInt(9)}/events?session=${randomBytes(8).toString('hex')}&ts=${Date.now() + randomInt(1e6)} HTTP/1.1\r\nHost: t${randomInt(50)}.analytics.example.net\r\nUser-Agent: Dalvik/2.1.0 (Linux; U; Android 6.0; R1 HD Build/MRA58K)\r\nContent-Type: application/json\r\nContent-Length: ${randomInt(2000)}\r\n\r\n`,
      );
    } else if (kind < 6) {
      const items = Array.from(
        { length: 8 },
        () =>
          `{"id":${randomInt(1e9)},"name":"item-${randomBytes(3).toString('hex')}","score":${Math.random().toFixed(6)},"tags":["a","b"],"ts":${1_700_000_000_000 + randomInt(1e9)}}`,
      );
      part = Buffer.from(`{"events":[${items.join(',')}],"device":{"model":"R1 HD","sdk":23}}\n`);
    } else if (kind < 7) {
      part = Buffer.from(`{"blob":"${randomBytes(600).toString('base64')}"}\n`);
    } else if (kind < 8) {
      part = zlib.gzipSync(Buffer.from(`metrics ${randomBytes(200).toString('hex')}`));
    } else {
      part = Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x04, 0x00]), randomBytes(1024)]);
    }
    parts.push(part);
    size += part.length;
  }
  return Buffer.concat(parts);
}

function plant(set: CanarySet): Buffer {
  const canary = set.canaries[randomInt(set.canaries.length)]!;
  switch (randomInt(4)) {
    case 0:
      return Buffer.from(`{"imei":"${canary.value}"}`);
    case 1:
      return Buffer.from(
        `data=${Buffer.concat([randomBytes(randomInt(3)), Buffer.from(canary.value)]).toString('base64')}&`,
      );
    case 2:
      return Buffer.from(`id=${Buffer.from(canary.value).toString('hex')};`);
    default:
      return zlib.gzipSync(Buffer.from(`{"v":"${canary.value}"}`));
  }
}

/** Writes `megabytes` MiB to `path`; returns how many canaries were planted. */
export async function writeSyntheticCapture(
  path: string,
  megabytes: number,
  set: CanarySet,
): Promise<number> {
  const pool = Buffer.concat(Array.from({ length: 16 }, poolBlock));
  const file = await open(path, 'w');
  let written = 0;
  let planted = 0;
  const target = megabytes * 1024 * 1024;
  try {
    while (written < target) {
      const start = randomInt(pool.length - 256 * 1024);
      const slice = pool.subarray(start, start + Math.min(256 * 1024, target - written));
      await file.write(slice);
      written += slice.length;
      if (written < target) {
        const p = plant(set);
        await file.write(p);
        written += p.length;
        planted++;
      }
    }
  } finally {
    await file.close();
  }
  return planted;
}
