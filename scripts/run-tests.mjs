// Runs every test file under test/ with node's test runner, TypeScript loaded through tsx.
// Node 20's runner takes no globs, so the files are listed here. Pass paths or name fragments to
// run a subset: `node scripts/run-tests.mjs lab-adb`.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (entry === 'fixtures' || entry === 'bench' || entry === 'node_modules') continue;
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (entry.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

// `npm test` runs every test file but the long end-to-end runs (`*.long.test.ts`: several full
// pipeline runs each), which `npm run test:long` runs; CI runs both. Naming files or fragments
// selects among all of them.
// `npm run test:scale` runs the many-host suite (`*.scale.test.ts`: hosts made of network
// namespaces, dozens of runs), one file at a time.
const argv = process.argv.slice(2);
const long = argv.includes('--long');
const scale = argv.includes('--scale');
const filters = argv.filter((a) => a !== '--long' && a !== '--scale');
const isLong = (f) => f.endsWith('.long.test.ts');
const isScale = (f) => f.endsWith('.scale.test.ts');
const suite = (f) => (long ? isLong(f) : scale ? isScale(f) : !isLong(f) && !isScale(f));
const files = findTests('test')
  .map((f) => relative('.', f))
  .filter((f) => (filters.length > 0 ? filters.some((x) => f.includes(x)) : suite(f)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
// Most tests wait on devices, timers and sockets rather than on the CPU: three files at a time
// keep two cores busy. The long runs each drive several devices, so two at a time; a scale run
// is a whole cluster, alone.
const concurrency = scale ? 1 : long ? 2 : 3;
// A second reporter sums each file's test durations into a JSON file, printed at the end: where
// the suite's time goes is the first thing to know when it grows.
const timesDir = mkdtempSync(join(tmpdir(), 'canarytrap-tests-'));
const timesFile = join(timesDir, 'file-times.json');
// Unit test files take well under a second each, but every file is its own process, and node
// with tsx's loader costs about a second of CPU to start and load the sources: over sixty unit
// files that was a minute and a half of a CPU-bound suite. They run instead in a few processes,
// each importing a share of them (their tests then report as that share's). A unit file that is
// heavy in itself runs alone.
const UNIT_GROUPS = 2;
const RUN_ALONE = ['test/unit/fuzz-parsers.test.ts'];
const groupable = files.filter((f) => f.startsWith('test/unit/') && !RUN_ALONE.includes(f));
// What runs alone goes first: the fuzzing is the longest file, and started last it would be the
// tail the other processes wait on.
const entries = [
  ...files.filter((f) => RUN_ALONE.includes(f)),
  ...files.filter((f) => !groupable.includes(f) && !RUN_ALONE.includes(f)),
];
if (groupable.length > UNIT_GROUPS * 2) {
  for (let group = 0; group < UNIT_GROUPS; group++) {
    const members = groupable.filter((_, i) => i % UNIT_GROUPS === group);
    const entry = join(timesDir, `unit-tests-${group + 1}-of-${UNIT_GROUPS}.test.mjs`);
    writeFileSync(
      entry,
      members.map((f) => `import ${JSON.stringify(pathToFileURL(f).href)};\n`).join(''),
    );
    entries.push(entry);
  }
} else {
  entries.push(...groupable);
}
const args = [
  '--import',
  'tsx',
  '--test',
  `--test-concurrency=${concurrency}`,
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  `--test-reporter=${new URL('./test-file-times.mjs', import.meta.url).href}`,
  `--test-reporter-destination=${timesFile}`,
  ...entries,
];

function printSlowest() {
  let times = {};
  try {
    times = JSON.parse(readFileSync(timesFile, 'utf8'));
  } catch {
    return;
  }
  const slowest = Object.entries(times)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8);
  if (slowest.length === 0) return;
  console.log(`\nslowest files (time in their tests; up to ${concurrency} files at once):`);
  for (const [file, seconds] of slowest)
    console.log(`  ${seconds.toFixed(1).padStart(6)} s  ${relative('.', file)}`);
}

// Lab images are built by the code under test, keyed by their sources; the files of one suite run
// share their builds through this cache (new for every run, so no run reuses an older build).
const labCache = join(timesDir, 'lab-image-cache');
const started = process.hrtime.bigint();
const child = spawn(process.execPath, args, {
  stdio: 'inherit',
  env: { CANARYTRAP_LAB_IMAGE_CACHE: labCache, ...process.env },
});
child.on('exit', (code, signal) => {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const minutes = Math.floor(seconds / 60);
  printSlowest();
  rmSync(timesDir, { recursive: true, force: true });
  console.log(
    `\nwall time: ${minutes} min ${(seconds - minutes * 60).toFixed(1)} s for ${files.length} test files`,
  );
  process.exit(code ?? (signal ? 1 : 0));
});
