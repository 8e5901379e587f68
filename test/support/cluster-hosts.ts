import { randomBytes } from 'node:crypto';
import { execa, type Options, type ResultPromise } from 'execa';

/**
 * Hosts for a many-host test, each a network namespace the test makes: a hub (Redis, the S3
 * server, the API) and worker hosts, on one bridge inside the hub, plus a link from this process's
 * namespace so the test can talk to the hub. Addresses are from 198.18.200.0/24 (benchmarking
 * space, apart from the cages' 198.19.0.0/16); nothing is routed anywhere else.
 */
export interface Cluster {
  hub: string;
  hubIp: string;
  workers: Array<{ ns: string; ip: string }>;
  /** Runs a program inside a namespace; killed (SIGKILL) at close if still running. */
  spawn(ns: string, file: string, args: readonly string[], options?: Options): ResultPromise;
  /** SIGKILLs every process in a namespace, as a host losing power; resolves with how many. */
  killHost(ns: string): Promise<number>;
  close(): Promise<void>;
}

const SUBNET = '198.18.200';
export const HUB_IP = `${SUBNET}.1`;
const DRIVER_IP = `${SUBNET}.2`;

async function ip(args: string[]): Promise<void> {
  await execa('ip', args, { timeout: 10_000 });
}

export async function makeCluster(workerCount: number): Promise<Cluster> {
  const tag = randomBytes(3).toString('hex');
  const hub = `ct-scale-${tag}-hub`;
  const workers = Array.from({ length: workerCount }, (_, i) => ({
    ns: `ct-scale-${tag}-w${i + 1}`,
    ip: `${SUBNET}.${11 + i}`,
  }));
  const driverLink = `ctd${tag}`;
  const children = new Set<ResultPromise>();
  const close = async () => {
    for (const child of children) {
      child.kill('SIGKILL');
      await child.catch(() => undefined);
    }
    for (const ns of [hub, ...workers.map((w) => w.ns)]) {
      await killAll(ns);
      await execa('ip', ['netns', 'del', ns], { reject: false, timeout: 10_000 });
    }
    await execa('ip', ['link', 'del', driverLink], { reject: false, timeout: 10_000 });
  };
  try {
    await ip(['netns', 'add', hub]);
    await ip(['-n', hub, 'link', 'set', 'lo', 'up']);
    await ip(['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', hub, 'addr', 'add', `${HUB_IP}/24`, 'dev', 'br0']);
    await ip(['-n', hub, 'link', 'set', 'br0', 'up']);
    for (const [index, worker] of workers.entries()) {
      const port = `hw${index + 1}`;
      await ip(['netns', 'add', worker.ns]);
      await ip(['-n', worker.ns, 'link', 'set', 'lo', 'up']);
      await ip(['-n', worker.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', port]);
      await ip(['-n', worker.ns, 'link', 'set', port, 'netns', hub]);
      await ip(['-n', hub, 'link', 'set', port, 'master', 'br0']);
      await ip(['-n', hub, 'link', 'set', port, 'up']);
      await ip(['-n', worker.ns, 'addr', 'add', `${worker.ip}/24`, 'dev', 'eth0']);
      await ip(['-n', worker.ns, 'link', 'set', 'eth0', 'up']);
    }
    // The test's own way in: one link from this namespace to the hub's bridge.
    await ip(['link', 'add', driverLink, 'type', 'veth', 'peer', 'name', 'hdriver']);
    await ip(['link', 'set', 'hdriver', 'netns', hub]);
    await ip(['-n', hub, 'link', 'set', 'hdriver', 'master', 'br0']);
    await ip(['-n', hub, 'link', 'set', 'hdriver', 'up']);
    await ip(['addr', 'add', `${DRIVER_IP}/32`, 'dev', driverLink]);
    await ip(['link', 'set', driverLink, 'up']);
    await ip(['route', 'add', `${HUB_IP}/32`, 'dev', driverLink, 'src', DRIVER_IP]);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    hub,
    hubIp: HUB_IP,
    workers,
    spawn: (ns, file, args, options = {}) => {
      const child = execa('ip', ['netns', 'exec', ns, file, ...args], {
        reject: false,
        ...options,
      }) as ResultPromise;
      children.add(child);
      void child.finally(() => children.delete(child));
      return child;
    },
    killHost: (ns) => killAll(ns),
    close,
  };
}

async function killAll(ns: string): Promise<number> {
  const listed = await execa('ip', ['netns', 'pids', ns], { reject: false, timeout: 10_000 });
  const pids = String(listed.stdout)
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  return pids.length;
}
