// Runs every test file under test/ with node's test runner, TypeScript loaded through tsx.
// Node 20's runner takes no globs, so the files are listed here. Pass paths or name fragments to
// run a subset: `node scripts/run-tests.mjs lab-adb`.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

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
const argv = process.argv.slice(2);
const long = argv.includes('--long');
const filters = argv.filter((a) => a !== '--long');
const isLong = (f) => f.endsWith('.long.test.ts');
const files = findTests('test')
  .map((f) => relative('.', f))
  .filter((f) =>
    filters.length > 0 ? filters.some((x) => f.includes(x)) : long ? isLong(f) : !isLong(f),
  )
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
// Most tests wait on devices, timers and sockets rather than on the CPU: three files at a time
// keep two cores busy. The long runs each drive several devices, so two at a time.
const concurrency = long ? 2 : 3;
const args = [
  '--import',
  'tsx',
  '--test',
  `--test-concurrency=${concurrency}`,
  '--test-reporter=spec',
  ...files,
];
const started = process.hrtime.bigint();
const child = spawn(process.execPath, args, { stdio: 'inherit' });
child.on('exit', (code, signal) => {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const minutes = Math.floor(seconds / 60);
  console.log(
    `\nwall time: ${minutes} min ${(seconds - minutes * 60).toFixed(1)} s for ${files.length} test files`,
  );
  process.exit(code ?? (signal ? 1 : 0));
});
