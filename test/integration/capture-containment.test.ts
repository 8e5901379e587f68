import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCapture, verifyContainment } from '../../src/capture/index.ts';
import { silentLogger } from '../../src/log.ts';
import { FakeEdge } from '../support/capture-fake-edge.ts';

/** The cage is another module's work; without it (or without root) this test says why it skips. */
async function cageModule(): Promise<typeof import('../../src/capture/cage/index.ts') | string> {
  try {
    const cage = await import('../../src/capture/cage/index.ts');
    if (typeof cage.createCage !== 'function') return 'src/capture/cage has no createCage yet';
    const capability = await cage.checkCageCapability();
    return capability.ok ? cage : `this host cannot make a cage: ${capability.reason}`;
  } catch (error) {
    return `src/capture/cage does not load: ${error instanceof Error ? error.message : String(error)}`;
  }
}

void test('the containment probe lands on the capture from inside a real cage, and is not evidence', async (t) => {
  const cages = await cageModule();
  if (typeof cages === 'string') {
    console.log(`# skipped: ${cages}`);
    t.skip(cages);
    return;
  }
  const root = await mkdtemp(join(tmpdir(), 'capture-containment-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const logger = silentLogger();
  await using cage = await cages.createCage({ stateDir: join(root, 'cages'), logger });
  await using capture = await startCapture({
    runDir: join(root, 'run'),
    logger,
    cage: {
      gateway: cage.addressing.gateway,
      originalDestination: (protocol, client) => cage.originalDestination(protocol, client),
    },
  });
  await cage.installEdge(capture.edgePorts);

  const result = await verifyContainment(capture, cage);
  assert.equal(result.verified, true, JSON.stringify(result, null, 2));
  assert.deepEqual(
    result.checks.map((check) => [check.what, check.ok]),
    [
      ['tcp', true],
      ['udp', true],
      ['icmp', true],
    ],
  );
  assert.match(result.checks[0]?.detail ?? '', /198\.51\.100\.1:9 from 198\.19\./);
  assert.deepEqual(capture.flows(), [], 'probe flows are kept out of the evidence');
  assert.deepEqual(JSON.parse(JSON.stringify(result)), result, 'the result is plain data');
});

void test('the probe fails, check by check, when its traffic lands in the wrong place or not at all', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'capture-containment-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  // An edge that places everything at one wrong address.
  const edge = new FakeEdge({ ip: '203.0.113.99', port: 9 });
  await using capture = await startCapture({
    runDir: root,
    logger: silentLogger(),
    cage: { gateway: '127.0.0.1', originalDestination: edge.originalDestination },
  });
  // A stand-in cage that sends the probe's bytes straight to the capture on loopback (never to
  // the TEST-NET addresses it names) and swallows the echo.
  const cage = {
    wrap(file: string, args: readonly string[]) {
      if (file === 'ping') return { file: 'true', args: [] };
      const [flag, script, what] = args;
      const port = what === 'tcp' ? capture.edgePorts.tcp : capture.edgePorts.udp;
      return {
        file,
        args: [flag ?? '', script ?? '', what ?? '', '127.0.0.1', String(port), args[5] ?? ''],
      };
    },
    counters: () => Promise.resolve({ icmpDropped: 0, quicRefused: 0, otherDropped: 0 }),
  };
  const result = await verifyContainment(capture, cage, { timeoutMs: 1_000 });
  assert.equal(result.verified, false);
  assert.deepEqual(
    result.checks.map((check) => [check.what, check.ok]),
    [
      ['tcp', false],
      ['udp', false],
      ['icmp', false],
    ],
  );
  assert.match(
    result.checks[0]?.detail ?? '',
    /to 198\.51\.100\.1:9 .*recorded as going to 203\.0\.113\.99:9/,
  );
  assert.match(result.checks[2]?.detail ?? '', /not counted at the edge/);
  assert.deepEqual(capture.flows(), [], 'probe flows stay out of the evidence, failed or not');
});
