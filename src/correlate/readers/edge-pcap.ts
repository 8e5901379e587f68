import type { Flow } from '../../capture/flow.ts';
import { readPcap } from './pcap.ts';

/** Where the device's address is known, only its packets are its evidence. */
export interface EdgeFlowOptions {
  /** The device's address in its cage: packets from anywhere else are not the device's. */
  deviceIp: string;
  /** Names the sinkhole gave fake IPs, for the flow's destination host. */
  hostForIp?: (ip: string) => string | undefined;
  /**
   * ms since the epoch: packets before it are the run's own (the containment probe's), not the
   * device's. Default: every packet counts.
   */
  since?: number;
}

/**
 * The flows of a cage's edge pcap that no live listener could record: ICMP echoes (dropped at the
 * edge) and QUIC datagrams (refused at the edge, so the UDP sink never sees them; `quic` flows).
 * TCP, DNS and other UDP are recorded live by the capture with their original destinations;
 * reading them again here would count every leak twice.
 */
export async function readEdgeOnlyFlows(
  pcapPath: string,
  options: EdgeFlowOptions,
): Promise<{ flows: Flow[]; warnings: string[] }> {
  const read = await readPcap(pcapPath);
  const flows = read.flows
    .filter((flow) => flow.client?.ip === options.deviceIp)
    .filter((flow) => options.since === undefined || flow.t >= options.since)
    .filter(
      (flow) =>
        flow.protocol === 'icmp' || (flow.protocol === 'udp' && flow.destination.port === 443),
    )
    .map((flow): Flow => {
      const host = options.hostForIp?.(flow.destination.ip) ?? flow.destination.ip;
      const icmp = flow.protocol === 'icmp';
      return {
        ...flow,
        id: `edge-${flow.id}`,
        protocol: icmp ? 'icmp' : 'quic',
        destination: { ...flow.destination, host },
        error: icmp ? 'dropped-at-edge' : 'refused-at-edge',
      };
    });
  return { flows, warnings: read.warnings };
}
