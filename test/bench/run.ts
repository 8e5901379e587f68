// `npm run bench`: the correlation engine against a naive scan and the single-needle ceiling,
// side by side on one synthetic capture, and peak memory streaming 1 GB from disk; then the
// orchestration overhead per run on three namespace hosts (orchestration.ts).
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { SearchIndex, scanBytes } from '../../src/correlate/index.ts';
import { makeCanarySet } from '../fixtures/correlate/canaries.ts';
import { writeSyntheticCapture } from './synthetic.ts';
import { benchOrchestration } from './orchestration.ts';

const STREAM_MB = Number(process.env['BENCH_STREAM_MB'] ?? 1024);
const MEMORY_MB = Math.min(STREAM_MB, Number(process.env['BENCH_MEMORY_MB'] ?? 256));
const CANARIES = 50;

function mbps(bytes: number, ms: number): number {
  return bytes / (1024 * 1024) / (ms / 1000);
}

function timed(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

const dir = await mkdtemp(join(tmpdir(), 'ct-bench-'));
try {
  const set = makeCanarySet(CANARIES);
  const canariesPath = join(dir, 'canaries.json');
  await writeFile(canariesPath, JSON.stringify(set));
  const capture = join(dir, 'capture.bin');
  let planted = 0;
  const writeMs = await (async () => {
    const start = performance.now();
    planted = await writeSyntheticCapture(capture, STREAM_MB, set);
    return performance.now() - start;
  })();
  console.log(
    `synthetic capture: ${STREAM_MB} MiB, ${CANARIES} canaries, ${planted} planted (written in ${(writeMs / 1000).toFixed(1)} s)`,
  );

  const child = await execa(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'stream-child.ts'), capture, canariesPath],
    { timeout: 30 * 60_000 },
  );
  const streamed = JSON.parse(child.stdout) as {
    bytes: number;
    ms: number;
    hits: number;
    peakMb: number;
  };

  const memory = Buffer.allocUnsafeSlow(MEMORY_MB * 1024 * 1024);
  const file = await open(capture, 'r');
  await file.read(memory, 0, memory.length, 0);
  await file.close();

  const index = new SearchIndex(set.canaries, []);
  const variants = index.variants;
  let engineHits = 0;
  scanBytes(index, memory.subarray(0, 16 * 1024 * 1024), 0, () => undefined);
  const engineMs = timed(() => scanBytes(index, memory, 0, () => engineHits++));

  const absent = Buffer.from(makeCanarySet(1).canaries[0]!.value);
  memory.indexOf(absent);
  const ceilingMs = timed(() => memory.indexOf(absent));

  let naiveHits = 0;
  const naiveMs = timed(() => {
    for (const v of variants)
      for (let at = memory.indexOf(v.bytes); at !== -1; at = memory.indexOf(v.bytes, at + 1))
        naiveHits++;
  });

  const engine = mbps(memory.length, engineMs);
  const ceiling = mbps(memory.length, ceilingMs);
  const naive = mbps(memory.length, naiveMs);
  const stream = mbps(streamed.bytes, streamed.ms);
  const rows: Array<[string, string, string]> = [
    [
      'engine, in memory',
      `${engine.toFixed(0)} MB/s`,
      `${MEMORY_MB} MiB, ${variants.length} variants, ${engineHits} hits`,
    ],
    [
      'engine, streamed from disk',
      `${stream.toFixed(0)} MB/s`,
      `${(streamed.bytes / 2 ** 20).toFixed(0)} MiB, ${streamed.hits} hits, peak RSS ${streamed.peakMb.toFixed(0)} MB`,
    ],
    [
      'naive (indexOf per variant)',
      `${naive.toFixed(1)} MB/s`,
      `${variants.length} passes over ${MEMORY_MB} MiB, ${naiveHits} hits (case-sensitive only)`,
    ],
    [
      'ceiling (one indexOf)',
      `${ceiling.toFixed(0)} MB/s`,
      `one ${absent.length}-byte needle over ${MEMORY_MB} MiB`,
    ],
  ];
  for (const [name, value, note] of rows)
    console.log(`${name.padEnd(30)} ${value.padStart(12)}   ${note}`);
  const throughput = Math.min(engine, stream);
  console.log(
    `correlate: ${throughput.toFixed(0)} MB/s, ${(engine / naive).toFixed(0)}x naive, ${(engine / ceiling).toFixed(2)}x of ceiling, peak ${streamed.peakMb.toFixed(0)} MB`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}

// Orchestration on three namespace hosts (root only: it makes network namespaces).
// Twelve runs: each host fetches the image from the store once, and the median is of the
// runs after that as well.
const ORCHESTRATION_RUNS = Number(process.env['BENCH_ORCHESTRATION_RUNS'] ?? 12);
const ORCHESTRATION_HOSTS = 3;
const orchestration = await benchOrchestration(ORCHESTRATION_RUNS, ORCHESTRATION_HOSTS);
if (typeof orchestration === 'string') {
  console.log(`orchestration: skipped (${orchestration})`);
} else {
  console.log(
    `orchestration: ${orchestration.overheadMs.toFixed(0)} ms/run overhead, ${orchestration.runsPerMinute.toFixed(1)} runs/min on ${orchestration.hosts} hosts (median of ${orchestration.runs} lab runs; goal <= 2000 ms)`,
  );
}
