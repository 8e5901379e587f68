import { access, readdir } from 'node:fs/promises';
import { isCanarytrapError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import {
  CAGE_INTERFACE_PATTERN,
  CAGE_NETNS_PATTERN,
  CAGE_TABLE_PATTERN,
  edgeTableName,
} from './addressing.ts';
import { runCommand } from './command.ts';
import { forgetFlowsOf } from './conntrack-table.ts';
import type { CageAddressing, SweptCage } from './types.ts';

/** The host-global pieces a cage is made of. */
export type CagePart = Exclude<SweptCage['removed'][number], 'record' | 'lease' | 'relays'>;

/** Indices of every cage piece present on this host, whoever made it. */
export interface CageInventory {
  netns: Set<number>;
  interfaces: Set<number>;
  tables: Set<number>;
}

const NETNS_DIR = '/run/netns';

export async function listCageParts(timeoutMs: number): Promise<CageInventory> {
  const tables = await runCommand('nft', ['list', 'tables', 'ip'], {
    timeoutMs,
    failure: {
      code: 'cage-edge-failed',
      hint: 'run `canarytrap doctor`: reading nftables needs root',
    },
  });
  return {
    netns: indices(await readdir(NETNS_DIR).catch(() => []), CAGE_NETNS_PATTERN),
    interfaces: indices(await readdir('/sys/class/net'), CAGE_INTERFACE_PATTERN),
    tables: indices(
      tables.split('\n').map((line) => line.trim().replace(/^table ip /, '')),
      CAGE_TABLE_PATTERN,
    ),
  };
}

/**
 * Takes down whatever is left of the cage at this index, each part on its own so one failure
 * does not keep the others; resolves with the parts it removed and never rejects.
 */
export async function removeCageParts(
  a: CageAddressing,
  timeoutMs: number,
  logger: Logger,
): Promise<CagePart[]> {
  const removed: CagePart[] = [];
  const fail = {
    code: 'cage-teardown-failed',
    hint: 'remove it by hand, or let the next worker start sweep it',
  };
  const steps: Array<[CagePart, () => Promise<boolean>]> = [
    // A process left inside would keep the namespace alive after its name is gone.
    ['processes', () => killProcessesInside(a.netns, timeoutMs)],
    [
      'table',
      () =>
        ifPresent(() =>
          runCommand('nft', ['delete', 'table', 'ip', edgeTableName(a.index)], {
            timeoutMs,
            failure: fail,
          }),
        ),
    ],
    ['flows', () => forgetFlowsOf(a.deviceIp, timeoutMs)],
    [
      'veth',
      async () =>
        (await exists(`/sys/class/net/${a.hostInterface}`)) &&
        ifPresent(() =>
          runCommand('ip', ['link', 'del', a.hostInterface], { timeoutMs, failure: fail }),
        ),
    ],
    [
      'netns',
      async () =>
        (await exists(`${NETNS_DIR}/${a.netns}`)) &&
        ifPresent(() => runCommand('ip', ['netns', 'del', a.netns], { timeoutMs, failure: fail })),
    ],
  ];
  for (const [part, run] of steps) {
    try {
      if (await run()) removed.push(part);
    } catch (error) {
      logger.warn({ err: error, cage: a.index, part }, 'could not remove part of a cage');
    }
  }
  return removed;
}

async function killProcessesInside(netns: string, timeoutMs: number): Promise<boolean> {
  if (!(await exists(`${NETNS_DIR}/${netns}`))) return false;
  const pids = await runCommand('ip', ['netns', 'pids', netns], {
    timeoutMs,
    failure: {
      code: 'cage-teardown-failed',
      hint: 'list them with `ip netns pids` and kill them by hand',
    },
  });
  let killed = false;
  for (const pid of pids
    .split('\n')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0)) {
    try {
      process.kill(pid, 'SIGKILL');
      killed = true;
    } catch {
      // Exited between the listing and the kill: nothing left to do.
    }
  }
  return killed;
}

/** Runs a removal; false when the thing was already gone (nft and ip then say so). */
async function ifPresent(remove: () => Promise<unknown>): Promise<boolean> {
  try {
    await remove();
    return true;
  } catch (error) {
    const stderr = isCanarytrapError(error) ? error.details?.stderr : undefined;
    if (
      typeof stderr === 'string' &&
      /No such file or directory|Cannot find device|does not exist/i.test(stderr)
    ) {
      return false;
    }
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function indices(names: readonly string[], pattern: RegExp): Set<number> {
  const found = new Set<number>();
  for (const name of names) {
    const match = pattern.exec(name);
    if (match) found.add(Number(match[1]));
  }
  return found;
}
