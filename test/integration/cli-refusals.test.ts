import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { wholeNumberFlag } from '../../src/cli/flags.ts';
import { WORKER_CONCURRENCY } from '../../src/cli/worker.ts';
import { loadConfig } from '../../src/config.ts';
import { freePort } from '../../src/host/ports.ts';
import { openAnalysisQueue, runJobCounts } from '../../src/queue/analysis-queue.ts';
import { buildReport } from '../../src/report/build.ts';
import { resolveImageArgument } from '../../src/run/image-argument.ts';
import { RUN_FILES, runDirFor } from '../../src/run/run-dir.ts';
import { makeCanarySet } from '../fixtures/correlate/canaries.ts';
import { makeExt4 } from '../fixtures/intake/inputs.ts';
import { assertRefused, runCli, TERMINAL_ACTIVE } from '../support/cli-run.ts';
import { startPipelineEnv, type PipelineEnv } from '../support/pipeline-env.ts';
import { flow, input, leak, SYSOPER } from '../support/report-fixtures.ts';

/**
 * Issue 14, the CLI: what an attacker or a slip of the keyboard gives the CLI is refused with the
 * right exit code and one line saying what is wrong and what to do, and nothing is queued.
 */

const ESC_HOST = 'evil\u001b]0;pwned\u0007\u001b[31;1mRED.example';

let world: PipelineEnv;
let work: string;
let image: string;
/** The world's environment with a Redis that refuses: a refusal made there never needed Redis. */
let noRedis: Record<string, string>;
const RUN_ID = 'r20260101-0000-esc001';

before(async () => {
  world = await startPipelineEnv();
  work = await mkdtemp(join(tmpdir(), 'cli-refusals-'));
  image = await makeExt4(work, 'system.img', {
    'build.prop': 'ro.build.fingerprint=t/t/t:6.0/T/1:user/release-keys\nro.product.model=T1\n',
  });
  noRedis = { ...world.env, CANARYTRAP_REDIS_URL: `redis://127.0.0.1:${await freePort()}` };
  // A finished run whose report names a host full of escape sequences.
  const report = buildReport(
    input([leak({ kind: 'imei', host: ESC_HOST, app: SYSOPER })], [flow(ESC_HOST)]),
  );
  const runDir = runDirFor(world.config.dataRoot, RUN_ID);
  await mkdir(runDir, { recursive: true });
  await writeFile(
    join(runDir, RUN_FILES.reportJson),
    JSON.stringify({ ...report, run: { ...report.run, runId: RUN_ID } }),
  );
});

after(async () => {
  await world?.close();
  await rm(work, { recursive: true, force: true });
});

async function assertNothingQueued(): Promise<void> {
  const queue = openAnalysisQueue(world.redis.url, world.config.queuePrefix);
  try {
    const counts = await runJobCounts(queue);
    assert.deepEqual(
      Object.entries(counts).filter(([, n]) => n > 0),
      [],
      `jobs in the queue: ${JSON.stringify(counts)}`,
    );
  } finally {
    await queue.close();
  }
}

test('submit refuses run options out of the schema with exit 2, naming the flag, and queues nothing', async () => {
  const cases: Array<[string, string, RegExp]> = [
    ['--per-provider', '-5', /--per-provider "-5": .*"perProvider" must be at least 1/],
    ['--advance-hours', 'abc', /--advance-hours "abc": .*"advanceHours" must be a number/],
  ];
  const results = await Promise.all(
    cases.map(([flag, value]) => runCli(['submit', flag, value, image], world.env)),
  );
  results.forEach((result, i) => {
    const [flag, value, message] = cases[i] ?? ['', '', /^$/];
    const line = assertRefused(result, 2, 'options-invalid', `${flag} ${value}`);
    assert.match(line, message);
  });
  await assertNothingQueued();
});

test('submit refuses an empty image argument and an empty directory before Redis is needed', async () => {
  const empty = join(work, 'empty-dir');
  await mkdir(empty);
  const [blank, emptyDir] = await Promise.all([
    runCli(['submit', ''], noRedis),
    runCli(['submit', empty], noRedis),
  ]);
  assertRefused(blank, 3, 'image-missing', 'submit ""');
  assert.match(
    assertRefused(emptyDir, 3, 'image-empty', 'submit <empty dir>'),
    /empty-dir is an empty directory/,
  );
  // The same check in process, as the API runs it: blank is blank, whatever the spaces.
  await assert.rejects(resolveImageArgument(' \t ', world.config), { code: 'image-missing' });
  await assertNothingQueued();
});

test('worker refuses a concurrency that is not a whole number from 1 to 64, before Redis', async () => {
  const [zero, fraction, metrics] = await Promise.all([
    ...['0', '1.5'].map((value) => runCli(['worker', '--concurrency', value], noRedis)),
    runCli(['worker', '--metrics', 'localhost'], noRedis),
  ]);
  for (const result of [zero, fraction!])
    assert.match(assertRefused(result, 2, 'concurrency-invalid', 'worker'), /from 1 to 64/);
  assert.match(assertRefused(metrics!, 2, 'port-invalid', 'worker --metrics'), /host:port/);
  // The rest of the matrix through the same parser, without a worker's start-up each.
  const rule = { flag: '--concurrency', ...WORKER_CONCURRENCY, code: 'c', expect: 'n' };
  for (const value of ['-1', 'abc', '65', '', ' ', '1e1', '0x2', 'Infinity', 'NaN'])
    assert.throws(() => wholeNumberFlag(value, rule), { code: 'c' }, value);
  for (const [value, n] of [
    ['1', 1],
    ['64', 64],
    [' 8 ', 8],
  ] as const)
    assert.equal(wholeNumberFlag(value, rule), n);
});

test('a bad upload limit or log level is config-invalid (exit 3), with the accepted values', async () => {
  const [tiny, level] = await Promise.all([
    runCli(['report', RUN_ID], { ...noRedis, CANARYTRAP_UPLOAD_LIMIT_MB: '1e-9' }),
    runCli(['report', RUN_ID], { ...noRedis, CANARYTRAP_LOG_LEVEL: 'bogus' }),
  ]);
  assert.match(
    assertRefused(tiny, 3, 'config-invalid', 'upload 1e-9'),
    /CANARYTRAP_UPLOAD_LIMIT_MB is "1e-9".*1 or more/,
  );
  assert.match(
    assertRefused(level, 3, 'config-invalid', 'log level'),
    /CANARYTRAP_LOG_LEVEL is "bogus" \(set it to one of fatal, error, warn, info, debug, trace, silent\)/,
  );
  for (const mb of ['0.5', '0', '-1', 'abc', '1e-9'])
    assert.throws(
      () => loadConfig({ CANARYTRAP_UPLOAD_LIMIT_MB: mb }),
      { code: 'config-invalid' },
      mb,
    );
  assert.equal(loadConfig({ CANARYTRAP_UPLOAD_LIMIT_MB: '1' }).uploadLimitBytes, 1024 * 1024);
  assert.equal(loadConfig({ CANARYTRAP_LOG_LEVEL: '' }).logLevel, 'warn', 'empty is unset');
  assert.throws(() => loadConfig({ CANARYTRAP_LOG_LEVEL: 'WARN' }), { code: 'config-invalid' });
});

test('serve on a busy port exits 5 with one line naming host:port and --port', async () => {
  const port = await freePort();
  const busy: Server = createServer();
  await new Promise<void>((resolve) => busy.listen(port, '127.0.0.1', resolve));
  try {
    const result = await runCli(['serve', '--port', String(port)], world.env, 20_000);
    const line = assertRefused(result, 5, 'port-in-use', 'serve on a busy port');
    assert.ok(line.includes(`127.0.0.1:${port}`), line);
    assert.match(line, /pick another port with --port/);
  } finally {
    await new Promise<void>((resolve) => busy.close(() => resolve()));
  }
});

test('report -o refuses a path it cannot write (exit 3, naming it and why) and writes whole files', async () => {
  const notDir = join(work, 'a-file');
  await writeFile(notDir, 'x');
  const outDir = join(work, 'out');
  await mkdir(outDir);
  const target = join(outDir, 'report.txt');
  await writeFile(target, 'the previous report\n');
  const [missing, intoFile, aDir, written] = await Promise.all([
    runCli(['report', RUN_ID, '-o', '/nonexistent/x'], world.env),
    runCli(['report', RUN_ID, '-o', join(notDir, 'x')], world.env),
    runCli(['report', RUN_ID, '-o', outDir], world.env),
    runCli(['report', RUN_ID, '--format', 'json', '-o', target], world.env),
  ]);
  assert.match(
    assertRefused(missing, 3, 'output-unwritable', '-o /nonexistent/x'),
    /cannot write -o \/nonexistent\/x: its directory does not exist/,
  );
  assert.match(
    assertRefused(intoFile, 3, 'output-unwritable', '-o under a file'),
    /not a directory/,
  );
  assert.match(assertRefused(aDir, 3, 'output-unwritable', '-o a directory'), /it is a directory/);
  assert.equal(written.exitCode, 0, written.stderr);
  const report = JSON.parse(await readFile(target, 'utf8')) as { run: { runId: string } };
  assert.equal(report.run.runId, RUN_ID);
  assert.deepEqual(await readdir(outDir), ['report.txt'], 'no temp file is left beside it');
});

test('correlate --json refuses an unwritable path before reading any capture', async () => {
  const result = await runCli(
    [
      'correlate',
      '--canaries',
      join(work, 'no-set.json'),
      '--har',
      join(work, 'no.har'),
      '--json',
      '/nonexistent/out.json',
    ],
    world.env,
  );
  assertRefused(result, 3, 'output-unwritable', 'correlate --json /nonexistent');
});

test('what firmware wrote reaches the terminal escaped: report text, correlate, error lines', async () => {
  const set = makeCanarySet();
  const email = set.canaries.find((c) => c.kind === 'email')?.value ?? '';
  await writeFile(join(work, 'set.json'), JSON.stringify(set));
  const entry = (url: string) => ({
    startedDateTime: '2026-01-01T00:00:00.000Z',
    serverIPAddress: '192.0.2.20',
    request: {
      method: 'GET',
      url,
      httpVersion: 'HTTP/1.1',
      headers: [{ name: 'Host', value: 'ads.example' }],
    },
    response: { status: 204, headers: [] },
  });
  const har = {
    log: {
      version: '1.2',
      creator: { name: 'test', version: '1' },
      entries: [
        // Not a URL: skipped with a warning that quotes it.
        entry(`https://${ESC_HOST}/p?u=${encodeURIComponent(email)}`),
        entry(`https://ads.example/p?u=${encodeURIComponent(email)}`),
      ],
    },
  };
  await writeFile(join(work, 'esc.har'), JSON.stringify(har));
  const [text, correlate, error] = await Promise.all([
    runCli(['report', RUN_ID], world.env),
    runCli(
      ['correlate', '--canaries', join(work, 'set.json'), '--har', join(work, 'esc.har')],
      world.env,
    ),
    runCli(['inspect', join(work, 'no\u001b]0;pwned\u0007such.img')], world.env),
  ]);
  assert.equal(text.exitCode, 0, text.stderr);
  assert.ok(text.stdout.includes('evil\\x1b]0;pwned\\x07\\x1b[31;1mRED.example'), text.stdout);
  assert.doesNotMatch(text.stdout, TERMINAL_ACTIVE);
  assert.equal(correlate.exitCode, 0, correlate.stderr);
  assert.match(correlate.stdout, /^email .* → ads\.example:443/m);
  assert.match(correlate.stderr, /^warning: .*evil\\x1b\]0;pwned\\x07\\x1b\[31;1mRED\.example/m);
  assert.doesNotMatch(correlate.stdout + correlate.stderr, TERMINAL_ACTIVE);
  assert.match(
    assertRefused(error, 3, 'image-not-found', 'a file name with escapes'),
    /no\\x1b\]0;pwned\\x07such\.img: no such file/,
  );
});
