import type { Logger } from '../../log.ts';

/** Where a cage sits on the host and what the device inside it sees. See docs/cage.md. */
export interface CageAddressing {
  /** The leased index; everything else is derived from it. */
  index: number;
  /** Network namespace name, `canarytrap-<index>`. */
  netns: string;
  /** Host side of the veth pair, in the host namespace (at most 15 characters). */
  hostInterface: string;
  /** Device side of the veth pair, inside the namespace. */
  deviceInterface: string;
  /** Host-side address: the device's gateway and DNS server; the capture listens here only. */
  gateway: string;
  /** The device's address inside the namespace. */
  deviceIp: string;
  prefixLength: number;
}

/** The capture listeners the edge steers traffic to, all on `gateway`. */
export interface EdgePorts {
  /** Every TCP connection from the cage (the capture front). */
  tcp: number;
  /** UDP to port 53 at any address (the DNS sinkhole). */
  dns: number;
  /** Every other UDP datagram except QUIC, which is refused (the UDP sink). */
  udp: number;
}

export interface EdgeCounters {
  /** ICMP packets from the device, dropped at the edge. */
  icmpDropped: number;
  /** UDP datagrams to port 443 refused at the edge. */
  quicRefused: number;
  /** Packets from the device to the gateway that were not for a capture port, dropped. */
  otherDropped: number;
}

export interface HostPort {
  ip: string;
  port: number;
}

/** A one-way relay: the host's loopback port reaches the same port on the cage's loopback. */
export interface CageRelay extends AsyncDisposable {
  readonly hostPort: number;
  readonly devicePort: number;
  close(): Promise<void>;
}

export interface EdgeRecorder extends AsyncDisposable {
  /** The pcap being written. */
  readonly file: string;
  /** Stops the recorder once everything seen so far is on disk. Safe to call twice. */
  stop(): Promise<void>;
}

export interface Cage extends AsyncDisposable {
  readonly addressing: CageAddressing;
  /** The same command, run inside the cage's namespace (`ip netns exec <netns> file args…`). */
  wrap(file: string, args: readonly string[]): { file: string; args: string[] };
  /**
   * Installs the edge rules steering all device traffic to these listeners on `gateway`,
   * replacing any earlier ones in one step. Until the first call the edge is sealed: everything
   * from the cage is dropped and counted.
   */
  installEdge(ports: EdgePorts): Promise<void>;
  counters(): Promise<EdgeCounters>;
  /** The original destination of a redirected TCP connection or UDP datagram from `client`. */
  originalDestination(protocol: 'tcp' | 'udp', client: HostPort): Promise<HostPort | undefined>;
  /** Listens on 127.0.0.1:`hostPort` of the host; each connection reaches the cage's 127.0.0.1:`devicePort`. */
  relay(hostPort: number, devicePort: number): Promise<CageRelay>;
  /** Starts writing every packet crossing the edge to `file` (pcap). */
  recordEdge(file: string): Promise<EdgeRecorder>;
  /**
   * Removes relays (and their sockets), recorders, processes left inside, rules, conntrack
   * entries, veth, namespace, record and lease. Safe to call twice; never rejects.
   */
  dispose(): Promise<void>;
}

export interface CageOptions {
  /** Where cage records (owner of each cage) are kept (`<data root>/cages`). */
  stateDir: string;
  logger: Logger;
  /**
   * Where index leases are kept. Host-global, because namespace, interface and table names are:
   * every worker on the host must share it whatever its data root. Default `/run/canarytrap/cages`.
   */
  lockDir?: string;
  /** Limit on every outside command (ip, nft) and on socat and dumpcap coming up. Default 10000 ms. */
  commandTimeoutMs?: number;
  /** How long originalDestination looks for a connection's conntrack entry. Default 1000 ms. */
  conntrackWaitMs?: number;
}

export interface SweepOptions {
  /** The data root's cage records, as in CageOptions. */
  stateDir: string;
  logger: Logger;
  /** As in CageOptions; default `/run/canarytrap/cages`. */
  lockDir?: string;
  /** As in CageOptions; default 10000 ms. */
  commandTimeoutMs?: number;
}

/** A cage the sweep took down, and what of it was still there. */
export interface SweptCage {
  index: number;
  netns: string;
  /** `owner-dead`: its record or lease names a process that is gone; `no-owner`: neither exists. */
  reason: 'owner-dead' | 'no-owner';
  removed: Array<
    'processes' | 'table' | 'flows' | 'veth' | 'netns' | 'relays' | 'record' | 'lease'
  >;
}

/** Whether this host can make cages, and if not, what to do about it. */
export type CageCapability = { ok: true } | { ok: false; reason: string; hint: string };
