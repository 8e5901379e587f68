/**
 * The run as a STIX 2.1 bundle: the exfiltration endpoints and the image as observed data, for
 * threat-intelligence platforms. Ids are UUIDv5, so exporting one run twice gives one bundle.
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { Destination, Report } from './model.ts';

/** The namespace STIX 2.1 (§2.9) gives for the ids of cyber-observable objects. */
const SCO_NAMESPACE = '00abedb4-aa42-466c-9c01-fed23315a9b7';
/** canarytrap's own namespace, for the ids of the domain objects it makes per run. */
const CANARYTRAP_NAMESPACE = '5c0f7a52-3e53-4f0e-9a54-6a1d2b6c2f11';

export type StixObject = Record<string, unknown> & { type: string; id: string };

export interface StixBundle {
  type: 'bundle';
  id: string;
  objects: StixObject[];
}

export function uuidv5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replaceAll('-', ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** JSON with sorted keys: the canonical form the spec hashes an SCO's id-contributing properties in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function sco(
  type: string,
  contributing: Record<string, unknown>,
  rest: Record<string, unknown> = {},
): StixObject {
  return {
    type,
    spec_version: '2.1',
    id: `${type}--${uuidv5(canonical(contributing), SCO_NAMESPACE)}`,
    ...contributing,
    ...rest,
  };
}

function timestamp(ms: number): string {
  return new Date(Number.isFinite(ms) ? ms : 0).toISOString();
}

const DOMAIN = /^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;

function addressObject(ip: string): StixObject | undefined {
  if (isIPv4(ip)) return sco('ipv4-addr', { value: ip });
  if (isIPv6(ip)) return sco('ipv6-addr', { value: ip });
  return undefined;
}

/** STIX protocol names are lowercase IANA service names; the report's channels map onto them. */
function protocolsOf(destination: Destination): string[] {
  const out = new Set<string>();
  for (const p of destination.protocols) {
    const name = p.toLowerCase();
    if (name === 'https') out.add('tcp').add('tls').add('http');
    else if (name === 'http') out.add('tcp').add('http');
    else if (name === 'dns') out.add('udp').add('dns');
    else if (name === 'tcp' || name === 'udp' || name === 'tls') out.add(name);
  }
  if (out.size === 0) out.add('tcp');
  return [...out];
}

function destinationObjects(destination: Destination): StixObject[] {
  const addresses = destination.ips
    .map(addressObject)
    .filter((o): o is StixObject => o !== undefined);
  const hostAddress = addressObject(destination.host);
  const domain = DOMAIN.test(destination.host)
    ? sco(
        'domain-name',
        { value: destination.host.toLowerCase() },
        addresses.length > 0 ? { resolves_to_refs: addresses.map((a) => a.id) } : {},
      )
    : undefined;
  const target = domain ?? hostAddress ?? addresses[0];
  if (!target) return [];
  const protocols = protocolsOf(destination);
  const traffic = (destination.ports.length > 0 ? destination.ports : [undefined]).map((port) =>
    sco(
      'network-traffic',
      {
        start: timestamp(destination.firstSeen),
        end: timestamp(destination.lastSeen),
        dst_ref: target.id,
        ...(port !== undefined ? { dst_port: port } : {}),
        protocols,
      },
      { src_byte_count: destination.bytesSent },
    ),
  );
  return [
    ...(domain ? [domain] : []),
    ...(hostAddress ? [hostAddress] : []),
    ...addresses,
    ...traffic,
  ];
}

function imageObjects(report: Report): StixObject[] {
  const image = report.run.image;
  const file = sco('file', { hashes: { 'SHA-256': image.sha256 } }, { name: image.name });
  const software = sco('software', {
    name: image.fingerprint ?? image.name,
    ...(image.manufacturer ? { vendor: image.manufacturer } : {}),
    ...(image.androidVersion ? { version: image.androidVersion } : {}),
  });
  return [file, software];
}

/** Endpoints that received at least one leak: the exfiltration endpoints. */
export function buildStixBundle(report: Report): StixBundle {
  const runId = report.run.runId;
  const created = timestamp(report.run.finishedAt);
  const identity: StixObject = {
    type: 'identity',
    spec_version: '2.1',
    id: `identity--${uuidv5('canarytrap', CANARYTRAP_NAMESPACE)}`,
    created: timestamp(0),
    modified: timestamp(0),
    name: 'canarytrap',
    identity_class: 'system',
    description:
      'Dynamic sandbox for Android firmware that plants synthetic personal data and reports where it goes.',
  };
  const sdo = (suffix: string) =>
    `observed-data--${uuidv5(`${runId}/${suffix}`, CANARYTRAP_NAMESPACE)}`;
  const common = { spec_version: '2.1', created, modified: created, created_by_ref: identity.id };
  const image = imageObjects(report);
  const observedImage: StixObject = {
    type: 'observed-data',
    id: sdo('image'),
    ...common,
    first_observed: timestamp(report.run.startedAt),
    last_observed: timestamp(report.run.finishedAt),
    number_observed: 1,
    object_refs: image.map((o) => o.id),
  };
  const unique = new Map<string, StixObject>();
  const observations: StixObject[] = [];
  for (const destination of report.destinations.filter((d) => d.leakCount > 0)) {
    const objects = destinationObjects(destination);
    if (objects.length === 0) continue;
    for (const o of objects) unique.set(o.id, o);
    observations.push({
      type: 'observed-data',
      id: sdo(`destination/${destination.host}`),
      ...common,
      first_observed: timestamp(destination.firstSeen),
      last_observed: timestamp(Math.max(destination.lastSeen, destination.firstSeen)),
      number_observed: Math.max(1, destination.flowCount),
      object_refs: objects.map((o) => o.id),
      labels: ['exfiltration', `leaks:${destination.leakCount}`],
    });
  }
  for (const o of image) unique.set(o.id, o);
  return {
    type: 'bundle',
    id: `bundle--${uuidv5(`${runId}/bundle`, CANARYTRAP_NAMESPACE)}`,
    objects: [identity, observedImage, ...observations, ...unique.values()],
  };
}
