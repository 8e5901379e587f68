import { edgeTableName } from './addressing.ts';
import { runCommand } from './command.ts';
import { edgeRuleset, parseEdgeCounters } from './edge-rules.ts';
import type { CageAddressing, EdgeCounters, EdgePorts } from './types.ts';

const FAILURE = {
  code: 'cage-edge-failed',
  hint: 'run `canarytrap doctor`: the cage edge needs root and nftables with the nat and reject modules',
};

/** Makes or replaces the cage's edge table in one nft transaction; sealed without `ports`. */
export async function applyEdge(
  a: CageAddressing,
  ports: EdgePorts | undefined,
  timeoutMs: number,
): Promise<void> {
  await runCommand('nft', ['-f', '-'], {
    timeoutMs,
    input: edgeRuleset(a, ports),
    failure: FAILURE,
  });
}

export async function readEdgeCounters(
  a: CageAddressing,
  timeoutMs: number,
): Promise<EdgeCounters> {
  const json = await runCommand('nft', ['-j', 'list', 'table', 'ip', edgeTableName(a.index)], {
    timeoutMs,
    failure: FAILURE,
  });
  return parseEdgeCounters(json);
}
