import { isCanarytrapError } from '../../errors.ts';
import { addressingFor } from './addressing.ts';
import { DEFAULT_COMMAND_TIMEOUT_MS, runCommand } from './command.ts';
import { edgeRuleset } from './edge-rules.ts';
import type { CageCapability } from './types.ts';

const TOOLS = [
  { file: 'ip', args: ['-V'], pkg: 'iproute2', use: 'make namespaces and veth pairs' },
  { file: 'nft', args: ['--version'], pkg: 'nftables', use: 'install the edge rules' },
  { file: 'socat', args: ['-V'], pkg: 'socat', use: 'relay adb and the console into the cage' },
  { file: 'dumpcap', args: ['-v'], pkg: 'tshark', use: 'record the edge pcap' },
] as const;

/**
 * Whether this host can make cages: root, the tools, and the kernel actually granting a
 * namespace and the edge's nftables features (nat redirect, reject), tried for real and undone.
 */
export async function checkCageCapability(
  timeoutMs = DEFAULT_COMMAND_TIMEOUT_MS,
): Promise<CageCapability> {
  if (process.getuid?.() !== 0) {
    return {
      ok: false,
      reason: 'not running as root: network namespaces, veth pairs and nftables need it',
      hint: 'run the worker as root, or run uncontained (--uncontained) and accept that the report says so',
    };
  }
  for (const tool of TOOLS) {
    try {
      await runCommand(tool.file, tool.args, {
        timeoutMs,
        failure: { code: 'cage-tool-broken', hint: '' },
      });
    } catch (error) {
      return {
        ok: false,
        reason: `\`${tool.file}\` does not run (${message(error)}); it is needed to ${tool.use}`,
        hint: `install the ${tool.pkg} package (bash scripts/setup.sh does)`,
      };
    }
  }
  const probe = `canarytrap-probe-${process.pid}`;
  try {
    await runCommand('ip', ['netns', 'add', probe], {
      timeoutMs,
      failure: { code: 'cage-netns-denied', hint: '' },
    });
    await runCommand('ip', ['netns', 'del', probe], {
      timeoutMs,
      failure: { code: 'cage-netns-denied', hint: '' },
    });
  } catch (error) {
    return {
      ok: false,
      reason: `the kernel refused a network namespace (${message(error)})`,
      hint: 'run on a host (or a privileged container) that allows `ip netns add`',
    };
  }
  try {
    // --check sends the transaction to the kernel and aborts it: nothing is installed.
    const sample = edgeRuleset(addressingFor(0), { tcp: 1, dns: 2, udp: 3 });
    await runCommand('nft', ['--check', '-f', '-'], {
      timeoutMs,
      input: sample,
      failure: { code: 'cage-edge-denied', hint: '' },
    });
  } catch (error) {
    return {
      ok: false,
      reason: `the kernel refused the cage's nftables rules (${message(error)})`,
      hint: 'load the nf_tables, nft_redirect, nft_reject and nf_conntrack kernel modules',
    };
  }
  return { ok: true };
}

function message(error: unknown): string {
  if (isCanarytrapError(error)) return error.message;
  return error instanceof Error ? error.message : String(error);
}
