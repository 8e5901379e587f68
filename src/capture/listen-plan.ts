import { InputError } from '../errors.ts';
import { inIpv4Network, isLoopbackIp } from './addresses.ts';
import type { CaptureCage, CaptureOptions } from './types.ts';

export interface ListenPlan {
  /** Where the front (and, in a cage, the UDP sink) listens. */
  host: string;
  /** Where the DNS sinkhole listens; no port means a free one. */
  dns: { host: string; port?: number };
  cage?: CaptureCage;
}

/** Cage gateways are leased from this range (docs/cage.md). */
const CAGE_NETWORK = { network: '198.19.0.0', prefixLength: 16 } as const;

/**
 * Where the capture's listeners go. The capture must never listen where a suspect image could
 * reach anything else, or where anyone but the device could reach it: uncaged, that is
 * loopback; caged, the cage's gateway (loopback too, for tests that play the edge themselves).
 */
export function listenPlan(options: CaptureOptions): ListenPlan {
  const { cage } = options;
  if (cage !== undefined) {
    if (options.host !== undefined || options.dns !== undefined) {
      throw new InputError(
        'capture-options-conflict',
        'host and dns are for uncaged captures; a caged capture listens on the cage gateway',
        { hint: 'pass either cage or host/dns, not both' },
      );
    }
    const { gateway } = cage;
    const inCageRange = inIpv4Network(gateway, CAGE_NETWORK.network, CAGE_NETWORK.prefixLength);
    if (!inCageRange && !isLoopbackIp(gateway)) {
      throw new InputError(
        'capture-host-not-contained',
        `cage gateway ${gateway} is neither in ${CAGE_NETWORK.network}/${CAGE_NETWORK.prefixLength} nor loopback`,
        { hint: 'pass the gateway of a cage made by src/capture/cage (docs/cage.md)' },
      );
    }
    return { host: gateway, dns: { host: gateway }, cage };
  }
  const host = options.host ?? '127.0.0.1';
  assertLoopback(host);
  if (options.dns) assertLoopback(options.dns.host);
  return { host, dns: options.dns ?? { host } };
}

function assertLoopback(host: string): void {
  if (isLoopbackIp(host)) return;
  throw new InputError(
    'capture-host-not-loopback',
    `capture host ${host} is not a loopback address`,
    {
      hint: 'use 127.0.0.1 (or another 127.x.y.z, or ::1)',
    },
  );
}
