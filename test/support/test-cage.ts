import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { execa } from 'execa';
import { createCage, type Cage } from '../../src/capture/cage/index.ts';
import { silentLogger } from '../../src/log.ts';

/** Why this host cannot make cages for a test (root, ip, nft, socat), or undefined when it can. */
export async function cageUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'cages need root (network namespaces, veth, nftables)';
  for (const tool of ['ip', 'nft', 'socat']) {
    const found = await execa('sh', ['-c', `command -v ${tool}`], { reject: false });
    if (found.exitCode !== 0) return `cages need ${tool}, which is not installed`;
  }
  return undefined;
}

/**
 * A real cage for one test, disposed after it. Leases from the host-global lock dir, as every
 * worker does, so it never collides with the cages of other tests running meanwhile.
 */
export async function makeTestCage(t: TestContext): Promise<Cage> {
  const stateDir = await mkdtemp(join(tmpdir(), 'test-cage-'));
  const cage = await createCage({ stateDir, logger: silentLogger() });
  t.after(async () => {
    await cage.dispose();
    await rm(stateDir, { recursive: true, force: true });
  });
  return cage;
}

/** The inode of a namespace's network namespace, as a process inside it sees /proc/self/ns/net. */
export async function netnsInode(netns: string): Promise<number> {
  const { stdout } = await execa(
    'ip',
    ['netns', 'exec', netns, 'stat', '-L', '-c', '%i', '/proc/self/ns/net'],
    {
      timeout: 10_000,
    },
  );
  return Number(stdout.trim());
}
