/**
 * The country of a public IP address, from the offline GeoLite2 country database that the
 * `geoip-country` package ships. Lookups read its bundled data files only: nothing is fetched,
 * at install or at run time (the package's own updater is never called).
 */
import { BlockList, isIP } from 'node:net';
import { createRequire } from 'node:module';

interface GeoIpCountry {
  lookup(ip: string): { country?: string } | null;
}

/** Addresses that name no place: private, loopback, link-local, shared, documentation, multicast. */
const NOT_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
] as const)
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 127],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv6');

/** `::ffff:a.b.c.d` is the IPv4 address it wraps. */
function unmapped(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped?.[1] ?? ip;
}

export function isPublicAddress(ip: string): boolean {
  const address = unmapped(ip);
  const family = isIP(address);
  if (family === 0) return false;
  return !NOT_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

let database: GeoIpCountry | undefined;

/** The database is read on first use (about 8 MB), not when a report module is imported. */
function geoDatabase(): GeoIpCountry {
  database ??= createRequire(import.meta.url)('geoip-country') as GeoIpCountry;
  return database;
}

/** ISO 3166-1 alpha-2 country of a public address, where the offline database knows it. */
export function countryOf(ip: string): string | undefined {
  if (!isPublicAddress(ip)) return undefined;
  const country = geoDatabase().lookup(unmapped(ip))?.country;
  return country && /^[A-Z]{2}$/.test(country) ? country : undefined;
}
