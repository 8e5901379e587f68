import assert from 'node:assert/strict';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import yazl from 'yazl';
import { startWorker } from '../../src/cli/worker.ts';
import { silentLogger } from '../../src/log.ts';
import { enqueueAnalysis, openAnalysisQueue } from '../../src/queue/analysis-queue.ts';
import { followRun } from '../../src/queue/follow.ts';
import { newRunId, runsRoot } from '../../src/run/run-dir.ts';
import { startPipelineEnv, type PipelineEnv } from '../support/pipeline-env.ts';

let world: PipelineEnv;
let inputs: string;
const bad: Record<string, string> = {};

async function escapingZip(path: string): Promise<void> {
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from('ro.build.type=user\n'), 'x86_64/build.prop');
  // yazl refuses "../" names, so the name is patched in the finished archive (same length).
  zip.addBuffer(Buffer.from('owned'), 'x86_64/AAAAAAAA/evil.sh');
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  const from = Buffer.from('x86_64/AAAAAAAA/evil.sh');
  const to = Buffer.from('../../../../../evil.sh');
  assert.equal(from.length, to.length + 1);
  const padded = Buffer.concat([to, Buffer.from('x')]);
  let at = bytes.indexOf(from);
  while (at >= 0) {
    padded.copy(bytes, at);
    at = bytes.indexOf(from, at + 1);
  }
  await writeFile(path, bytes);
}

before(async () => {
  world = await startPipelineEnv();
  inputs = await mkdtemp(join(tmpdir(), 'canarytrap-bad-inputs-'));
  bad['missing'] = join(inputs, 'no-such-image.zip');
  bad['empty'] = join(inputs, 'empty.img');
  await writeFile(bad['empty'], '');
  bad['random'] = join(inputs, 'random.bin');
  await writeFile(bad['random'], randomBytes(1024 * 1024));
  bad['escaping'] = join(inputs, 'escaping.zip');
  await escapingZip(bad['escaping']);
  await mkdir(world.config.dataRoot, { recursive: true });
});

after(async () => {
  await world?.close();
  await rm(inputs, { recursive: true, force: true });
});

const expectedCodes: Record<string, RegExp> = {
  missing: /image-not-found/,
  empty: /image-empty/,
  random: /image-unrecognised/,
  escaping: /zip-entry-escapes/,
};

test(
  'canarytrap submit refuses each bad input with one line, a non-zero exit and no run directory',
  { timeout: 60_000 },
  async () => {
    for (const [name, path] of Object.entries(bad)) {
      const result = await execa(process.execPath, ['bin/canarytrap.js', 'submit', path], {
        env: world.env,
        reject: false,
        timeout: 30_000,
      });
      assert.equal(result.exitCode, 3, `${name}: exit ${result.exitCode}, stderr ${result.stderr}`);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${name}: ${result.stderr}`);
      assert.match(lines[0] ?? '', expectedCodes[name] ?? /./, name);
      const runs = await readdir(runsRoot(world.config.dataRoot)).catch(() => []);
      assert.deepEqual(runs, [], `${name} left a run directory`);
    }
  },
);

test(
  'a worker fed bad images fails each job with its code and stays up',
  { timeout: 120_000 },
  async () => {
    const worker = startWorker(world.redis.url, world.config, silentLogger(), 1);
    try {
      const queue = openAnalysisQueue(world.redis.url, world.config.queuePrefix);
      const runIds: Array<[string, string]> = [];
      for (const [name, path] of Object.entries(bad)) {
        const runId = newRunId();
        runIds.push([name, runId]);
        await enqueueAnalysis(queue, { runId, imagePath: path, imageLabel: name, options: {} });
      }
      await queue.close();
      for (const [name, runId] of runIds) {
        const outcome = await followRun({
          redisUrl: world.redis.url,
          prefix: world.config.queuePrefix,
          runId,
          onProgress: () => undefined,
          timeoutMs: 30_000,
        });
        assert.equal(outcome.status, 'failed', name);
        if (outcome.status === 'failed')
          assert.match(outcome.reason, expectedCodes[name] ?? /./, name);
      }
      assert.equal(worker.isRunning(), true);
      const runs = await readdir(runsRoot(world.config.dataRoot)).catch(() => []);
      assert.deepEqual(runs, [], 'a bad image left a run directory');
    } finally {
      await worker.close();
    }
  },
);
