import { isIP } from 'node:net';

/** An address and port: a client, a destination, a listener. */
export interface HostPort {
  ip: string;
  port: number;
}

/** Names compare case-insensitively and without the root dot (`Example.org.` is `example.org`). */
export function normaliseName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export function isIpLiteral(host: string): boolean {
  return isIP(host.replace(/^\[|\]$/g, '')) !== 0;
}

/** Sockets on a dual-stack listener report IPv4 peers as `::ffff:a.b.c.d`; flows name them plainly. */
export function plainIp(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

export function isLoopbackIp(address: string): boolean {
  const ip = plainIp(address);
  return ip === '::1' || (isIP(ip) === 4 && ip.startsWith('127.'));
}

/** `a.b.c.d` as a 32-bit unsigned number; undefined for anything but dotted IPv4. */
export function ipv4Number(address: string): number | undefined {
  if (isIP(address) !== 4) return undefined;
  return address.split('.').reduce((value, part) => value * 256 + Number(part), 0);
}

export function ipv4String(value: number): string {
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

/** Whether `address` lies in `network`/`prefixLength` (IPv4 only). */
export function inIpv4Network(address: string, network: string, prefixLength: number): boolean {
  const value = ipv4Number(address);
  const base = ipv4Number(network);
  if (value === undefined || base === undefined) return false;
  const size = 2 ** (32 - prefixLength);
  return Math.floor(value / size) === Math.floor(base / size);
}
