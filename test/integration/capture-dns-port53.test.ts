import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startCapture } from '../../src/capture/index.ts';
import { silentLogger } from '../../src/log.ts';

test('the sinkhole listens on port 53 of its own loopback alias, as the SDK emulator needs', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('binding port 53 needs root or CAP_NET_BIND_SERVICE, and this test runs unprivileged');
    return;
  }
  const runDir = await mkdtemp(join(tmpdir(), 'capture-dns53-'));
  const alias = `127.53.${Math.floor(Math.random() * 256)}.${2 + Math.floor(Math.random() * 250)}`;
  const capture = await startCapture({
    runDir,
    logger: silentLogger(),
    dns: { host: alias, port: 53 },
  });
  try {
    assert.deepEqual(capture.dns, { host: alias, port: 53 });
    const resolver = new Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([alias]);
    const [address] = await resolver.resolve4('bigdata.adups.com');
    assert.match(address ?? '', /^198\.18\./);
    assert.equal(capture.hostForIp(address ?? ''), 'bigdata.adups.com');
  } finally {
    await capture.stop();
    await rm(runDir, { recursive: true, force: true });
  }
});

test('a sinkhole address off loopback is refused', async () => {
  const runDir = await mkdtemp(join(tmpdir(), 'capture-dns53-'));
  try {
    await assert.rejects(
      startCapture({ runDir, logger: silentLogger(), dns: { host: '10.0.2.3', port: 53 } }),
      /not a loopback address/,
    );
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
});
