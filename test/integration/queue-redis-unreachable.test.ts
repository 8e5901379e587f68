import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { CanarytrapError } from '../../src/errors.ts';
import { checkRedisUrl, REDIS_PROBE_TIMEOUT_MS } from '../../src/queue/connection.ts';
import { newRunId } from '../../src/run/run-dir.ts';
import { freePort } from '../../src/host/ports.ts';

/**
 * A configured Redis that is malformed, refuses connections, or accepts and never answers:
 * every command that needs the queue exits 5 within seconds with one line naming the URL (its
 * password hidden), instead of hanging or announcing a worker on a queue it never reached.
 */

let work: string;
let silent: Server;
let silentPort: number;
let refusedPort: number;
const held: Socket[] = [];

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'redis-unreachable-'));
  // Accepts, reads, never replies: a Redis behind a wedged proxy, or something else entirely.
  silent = createServer((socket) => {
    held.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentPort = (silent.address() as { port: number }).port;
  refusedPort = await freePort();
});

after(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
  await rm(work, { recursive: true, force: true });
});

function cli(url: string, args: string[]) {
  const started = Date.now();
  return execa('node', ['bin/canarytrap.js', ...args], {
    env: {
      CANARYTRAP_DATA: join(work, 'data'),
      CANARYTRAP_REDIS_URL: url,
      CANARYTRAP_LOG_LEVEL: 'info',
      ...(process.env['CANARYTRAP_LAB_IMAGE_CACHE']
        ? { CANARYTRAP_LAB_IMAGE_CACHE: process.env['CANARYTRAP_LAB_IMAGE_CACHE'] }
        : {}),
    },
    reject: false,
    timeout: 60_000,
  }).then((result) => ({ ...result, seconds: (Date.now() - started) / 1000 }));
}

const COMMANDS: Array<[string, string[]]> = [
  ['submit', ['submit', 'clean']],
  ['cancel', ['cancel', newRunId()]],
  ['watch', ['watch', newRunId()]],
  ['worker', ['worker']],
  ['serve', ['serve', '--port', '0']],
];

async function assertFailsFast(url: string, shown: RegExp, reason: RegExp): Promise<void> {
  const results = await Promise.all(
    COMMANDS.map(async ([which, args]) => ({ which, ...(await cli(url, args)) })),
  );
  for (const result of results) {
    const where = `${result.which} with ${url}`;
    assert.equal(result.timedOut, false, `${where} returned`);
    assert.equal(result.exitCode, EXIT.environment, `${where}: ${result.stderr}`);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${where} prints one line: ${result.stderr}`);
    assert.match(lines[0]!, shown, where);
    assert.match(lines[0]!, reason, where);
    assert.doesNotMatch(result.stderr, /secret|^\s+at /m, `${where}: no password, no stack`);
    assert.doesNotMatch(
      result.stdout,
      /worker up|serving on|queued run/,
      `${where} claims nothing`,
    );
    // The CLI's own start and submit's lab image build come first; the probe itself is bounded
    // by REDIS_PROBE_TIMEOUT_MS. Loose, for a loaded machine: a hang is what this catches.
    assert.ok(result.seconds < 40, `${where} took ${result.seconds} s`);
  }
}

test('a malformed Redis URL: every queue command exits 5 naming it', async () => {
  await assertFailsFast('garbage', /"garbage"/, /redis-url-invalid: .*not a redis:\/\/ URL/);
});

test('a Redis that refuses connections: exit 5 with the cause, the password hidden', async () => {
  const url = `redis://canarytrap:secret@127.0.0.1:${refusedPort}/0`;
  await assertFailsFast(
    url,
    new RegExp(`redis://canarytrap:\\*\\*\\*@127\\.0\\.0\\.1:${refusedPort}/0`),
    /redis-unreachable: .*ECONNREFUSED/,
  );
});

test('a Redis that accepts and never answers is given up on after the probe timeout', async () => {
  const started = Date.now();
  await assert.rejects(checkRedisUrl(`redis://127.0.0.1:${silentPort}`, 1_000), (error) => {
    assert.ok(error instanceof CanarytrapError);
    assert.equal(error.code, 'redis-unreachable');
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${silentPort} .*timed out`));
    return true;
  });
  assert.ok(Date.now() - started < 5_000, 'within the timeout it was given');
  assert.ok(REDIS_PROBE_TIMEOUT_MS <= 10_000, 'commands give up within seconds');
  const worker = await cli(`redis://127.0.0.1:${silentPort}`, ['worker']);
  assert.equal(worker.exitCode, EXIT.environment, worker.stderr);
  assert.match(worker.stderr, /redis-unreachable/);
  assert.doesNotMatch(worker.stdout, /worker up/);
});
