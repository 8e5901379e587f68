// Streams one file through the engine in a process of its own, so its peak memory is its own.
import { readFile } from 'node:fs/promises';
import { scanStream } from '../../src/correlate/index.ts';
import type { CanarySet } from '../../src/canary/types.ts';

const [file, canariesPath] = process.argv.slice(2);
if (!file || !canariesPath) throw new Error('usage: stream-child.ts <capture> <canaries.json>');
const set = JSON.parse(await readFile(canariesPath, 'utf8')) as CanarySet;
const result = await scanStream(file, set.canaries);
process.stdout.write(
  JSON.stringify({
    bytes: result.bytes,
    ms: result.durationMs,
    hits: result.hitCount,
    peakMb: process.resourceUsage().maxRSS / 1024,
  }),
);
