import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { execa, type ResultPromise } from 'execa';

/**
 * Two network namespaces a test makes for itself: `device`, where the code under test runs as
 * it would in a cage, and `internet`, which holds the TEST-NET addresses the device sends to.
 * A veth pair joins them and the device's one route leads into the internet namespace, so no
 * packet of the test can reach the host's network. Both are removed after the test (deleting
 * a namespace removes its end of the veth pair, and the pair with it).
 */
export interface NamespacePair {
  device: string;
  internet: string;
  /** The internet side of the link: the device's gateway (and its DNS server, by convention). */
  gateway: string;
  /** The device's own address. */
  deviceIp: string;
  /** Runs a command inside a namespace; killed when the test ends, if still running. */
  spawn(
    namespace: string,
    file: string,
    args: readonly string[],
    options?: { cwd?: string },
  ): ResultPromise;
}

const GATEWAY = '198.19.254.1';
const DEVICE_IP = '198.19.254.2';

async function ip(args: string[]): Promise<void> {
  await execa('ip', args, { timeout: 10_000 });
}

/** Whether this process may make namespaces (root with iproute2); tests skip naming why not. */
export function namespacesUnavailable(): string | undefined {
  return process.getuid?.() === 0 ? undefined : 'making network namespaces needs root';
}

/**
 * Makes the pair, with `addresses` (TEST-NET, /32 each) on the internet namespace's loopback so
 * that namespace answers for them.
 */
export async function makeNamespacePair(
  t: TestContext,
  addresses: readonly string[],
): Promise<NamespacePair> {
  const tag = randomBytes(3).toString('hex');
  const device = `ct-test-${tag}-d`;
  const internet = `ct-test-${tag}-i`;
  const children = new Set<ResultPromise>();
  t.after(async () => {
    for (const child of children) {
      child.kill('SIGKILL');
      await child.catch(() => undefined);
    }
    for (const name of [device, internet]) {
      await execa('ip', ['netns', 'del', name], { reject: false, timeout: 10_000 });
    }
  });
  await ip(['netns', 'add', device]);
  await ip(['netns', 'add', internet]);
  // Made inside the device namespace, so no interface of the test ever exists on the host.
  await ip(['-n', device, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'up0']);
  await ip(['-n', device, 'link', 'set', 'up0', 'netns', internet]);
  await ip(['-n', device, 'addr', 'add', `${DEVICE_IP}/30`, 'dev', 'eth0']);
  await ip(['-n', internet, 'addr', 'add', `${GATEWAY}/30`, 'dev', 'up0']);
  for (const [name, link] of [
    [device, 'eth0'],
    [internet, 'up0'],
  ] as const) {
    await ip(['-n', name, 'link', 'set', 'lo', 'up']);
    await ip(['-n', name, 'link', 'set', link, 'up']);
  }
  await ip(['-n', device, 'route', 'add', 'default', 'via', GATEWAY]);
  for (const address of addresses) {
    await ip(['-n', internet, 'addr', 'add', `${address}/32`, 'dev', 'lo']);
  }
  return {
    device,
    internet,
    gateway: GATEWAY,
    deviceIp: DEVICE_IP,
    spawn(namespace, file, args, options = {}) {
      const child = execa('ip', ['netns', 'exec', namespace, file, ...args], {
        reject: false,
        stdin: 'ignore',
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      });
      children.add(child);
      void child.finally(() => children.delete(child));
      return child;
    },
  };
}
