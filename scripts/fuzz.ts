// `npm run fuzz`: the parsers `npm test` fuzzes, for longer and with a new seed each run.
//   FUZZ_RUNS     inputs per parser (default 100,000)
//   FUZZ_MINUTES  time budget for the whole campaign, split evenly between parsers (default 10)
//   FUZZ_SEED     fast-check seed to replay a run (default: random, printed)
//   FUZZ_TARGETS  comma-separated parser names (default: all)
//   FUZZ_WORKERS  parsers fuzzed at once, one thread each (default 2)
// A finding's input is written to test-artifacts/fuzz/, named by parser and seed.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runFuzzCampaign } from '../test/support/fuzz-campaign.ts';
import { findingText, reportLine } from '../test/support/fuzz-harness.ts';
import {
  FUZZ_TARGET_NAMES,
  NOT_YET_FUZZED,
  type FuzzTargetName,
} from '../test/support/fuzz-targets.ts';

const env = process.env;
const runs = Number(env['FUZZ_RUNS'] ?? 100_000);
const minutes = Number(env['FUZZ_MINUTES'] ?? 10);
const workers = Number(env['FUZZ_WORKERS'] ?? 2);
const seed = env['FUZZ_SEED'] ? Number(env['FUZZ_SEED']) : Math.floor(Math.random() * 2 ** 31);
const wanted = env['FUZZ_TARGETS']?.split(',').map((t) => t.trim()) ?? FUZZ_TARGET_NAMES;
const unknown = wanted.filter((t) => !(FUZZ_TARGET_NAMES as string[]).includes(t));
const integers = [runs, seed, workers].every(Number.isSafeInteger);
if (unknown.length > 0 || !integers || workers < 1) {
  console.error(
    `fuzz: FUZZ_TARGETS takes ${FUZZ_TARGET_NAMES.join(', ')}; FUZZ_RUNS, FUZZ_SEED and FUZZ_WORKERS integers` +
      (unknown.length > 0 ? ` (unknown: ${unknown.join(', ')})` : ''),
  );
  process.exit(2);
}
const targets = wanted as FuzzTargetName[];
const timeLimitMs = Math.round(
  (minutes * 60_000 * Math.min(workers, targets.length)) / targets.length,
);

console.log(
  `fuzz seed ${seed} (replay with FUZZ_SEED=${seed}), up to ${runs} inputs or ${Math.round(timeLimitMs / 1000)} s per parser`,
);
const artifacts = join('test-artifacts', 'fuzz');
let findings = 0;
for await (const report of runFuzzCampaign({ runs, seed, timeLimitMs, targets, workers })) {
  console.log(reportLine(report));
  if (!report.finding) continue;
  findings++;
  console.log(findingText(report));
  await mkdir(artifacts, { recursive: true });
  const file = join(artifacts, `${report.name}-seed${seed}.bin`);
  await writeFile(file, report.finding.input);
  console.log(`  saved: ${file}`);
}
for (const [name, why] of Object.entries(NOT_YET_FUZZED))
  console.log(`fuzz ${name}: skipped, ${why}`);
console.log(findings === 0 ? 'fuzz: no findings' : `fuzz: ${findings} finding(s)`);
process.exitCode = findings === 0 ? 0 : 1;
