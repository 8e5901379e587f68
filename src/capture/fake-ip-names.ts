import { ipv4Number, ipv4String, normaliseName, plainIp } from './addresses.ts';

/**
 * The run's fake-IP range (RFC 2544 benchmarking, so no real host is ever named by an answer).
 * Inside a cage every address leads to the capture anyway; the address only has to tell names
 * apart, and to be something a device would never reach directly if it left the cage.
 */
export const FAKE_IP_NETWORK = { network: '198.18.0.0', prefixLength: 16 } as const;

/** The network address and the broadcast address are never handed out. */
const CAPACITY = 2 ** (32 - FAKE_IP_NETWORK.prefixLength) - 2;

/**
 * The run's name ↔ address book: the DNS sinkhole gives every name its own address from
 * 198.18.0.0/16, in order of first sight from 198.18.0.1, stable for the run, so a connection to
 * 198.18.0.7 can be told apart from one to 198.18.0.8 and named afterwards. One book per run:
 * two runs' books are independent.
 */
export class FakeIpNames {
  private readonly ipByName = new Map<string, string>();
  private readonly nameByIp = new Map<string, string>();
  private readonly base = ipv4Number(FAKE_IP_NETWORK.network) ?? 0;

  /**
   * The address of `name`, allocating the next free one on first sight; undefined once the
   * range is spent (65,534 names: a name-per-chunk DNS tunnel could get there, and its queries
   * are still recorded, only unanswered).
   */
  addressFor(name: string): string | undefined {
    const key = normaliseName(name);
    const known = this.ipByName.get(key);
    if (known !== undefined) return known;
    if (this.ipByName.size >= CAPACITY) return undefined;
    const ip = ipv4String(this.base + this.ipByName.size + 1);
    this.ipByName.set(key, ip);
    this.nameByIp.set(ip, key);
    return ip;
  }

  /** The name given this address, if this run gave it one. IPv4-mapped IPv6 is accepted. */
  nameFor(ip: string): string | undefined {
    return this.nameByIp.get(plainIp(ip));
  }
}
