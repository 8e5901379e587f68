import { isIP } from 'node:net';

/**
 * The run's name ↔ address book: every name gets its own loopback address, stable for the run,
 * so a connection to 127.1.0.7 can be told apart from one to 127.1.0.8 and named afterwards.
 * 127.0.0.1 is never handed out: it is where the capture servers themselves listen.
 */
export class LoopbackNames {
  private readonly ipByName = new Map<string, string>();
  private readonly nameByIp = new Map<string, string>();

  /** The address of `name`, allocating the next free one on first sight. */
  addressFor(name: string): string {
    const key = normaliseName(name);
    const known = this.ipByName.get(key);
    if (known !== undefined) return known;
    const ip = addressNumber(this.ipByName.size + 1);
    this.ipByName.set(key, ip);
    this.nameByIp.set(ip, key);
    return ip;
  }

  /** The name given this address, if this run gave it one. IPv4-mapped IPv6 is accepted. */
  nameFor(ip: string): string | undefined {
    return this.nameByIp.get(ip.startsWith('::ffff:') ? ip.slice('::ffff:'.length) : ip);
  }
}

export function normaliseName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export function isIpLiteral(host: string): boolean {
  return isIP(host.replace(/^\[|\]$/g, '')) !== 0;
}

// 127.1.0.1, 127.1.0.2, … 127.1.255.255, then 127.2.0.0 onwards: 16M names before the /8 runs out.
function addressNumber(n: number): string {
  const value = (1 << 16) + n;
  return `127.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}
