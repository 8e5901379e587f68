import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Flow } from '../../capture/flow.ts';
import { InputError } from '../../errors.ts';
import { parseCaptureFile } from './capture-file.ts';
import { looksLikeHttpRequest, parseRequests, parseResponses } from './http-stream.ts';
import { decodeFrame } from './packet.ts';
import { TcpReassembler, type TcpConnection } from './tcp-reassembly.ts';
import { clientHelloSni, isTlsHandshake } from './tls-hello.ts';

export interface CaptureReadResult {
  flows: Flow[];
  warnings: string[];
}

function connectionFlows(prefix: string, n: number, c: TcpConnection, warnings: string[]): Flow[] {
  const destination = { ip: c.server.ip, port: c.server.port };
  const client = { ip: c.client.ip, port: c.client.port };
  const id = `${prefix}#${n}`;
  if (c.gaps > 0)
    warnings.push(
      `${id} (${client.ip}:${client.port} → ${destination.ip}:${destination.port}): ${c.gaps} gap(s) in the TCP stream (lost segments); searched what was captured`,
    );
  if (c.upstream.length === 0) return [];
  if (looksLikeHttpRequest(c.upstream)) {
    const { requests, rest } = parseRequests(c.upstream);
    const responses = parseResponses(c.downstream);
    if (rest.length > 0)
      warnings.push(
        `${id}: ${rest.length} bytes after the last HTTP request are not HTTP; not searched`,
      );
    return requests.map((r, k) => {
      if (r.truncated)
        warnings.push(
          `${id}.${k}: HTTP body ends before its declared length; searched what was captured`,
        );
      const host = r.headers
        .find(([name]) => name.toLowerCase() === 'host')?.[1]
        ?.replace(/:\d+$/, '');
      const response = responses[k];
      return {
        id: `${id}.${k}`,
        t: c.t,
        protocol: 'http' as const,
        destination: { ...destination, ...(host !== undefined ? { host } : {}) },
        client,
        request: {
          method: r.method,
          url: r.url,
          httpVersion: r.httpVersion,
          headers: r.headers,
          body: r.body.toString('base64'),
        },
        ...(response
          ? {
              response: { status: response.status, headers: response.headers, body: response.body },
            }
          : {}),
      };
    });
  }
  if (isTlsHandshake(c.upstream)) {
    const sni = clientHelloSni(c.upstream);
    return [
      {
        id,
        t: c.t,
        protocol: 'tls',
        destination: { ...destination, ...(sni !== undefined ? { host: sni } : {}) },
        client,
        raw: c.upstream.toString('base64'),
        tls: { ...(sni !== undefined ? { sni } : {}), decrypted: false },
      },
    ];
  }
  return [{ id, t: c.t, protocol: 'tcp', destination, client, raw: c.upstream.toString('base64') }];
}

/** Flows of a pcap or pcapng file: TCP reassembled, HTTP/1.x parsed, TLS named by SNI, UDP by datagram stream. */
export async function readPcap(path: string): Promise<CaptureReadResult> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new InputError('capture-unreadable', `${path}: cannot read the file`, {
      cause: error,
      hint: 'check the path and permissions',
    });
  }
  const prefix = basename(path);
  const { packets, warnings } = parseCaptureFile(path, bytes);
  const tcp = new TcpReassembler();
  const udp = new Map<string, Flow & { parts: Buffer[] }>();
  const skipped = new Map<string, number>();
  for (const packet of packets) {
    const decoded = decodeFrame(packet.linkType, packet.data);
    if ('skip' in decoded) {
      skipped.set(decoded.skip, (skipped.get(decoded.skip) ?? 0) + 1);
      continue;
    }
    const s = decoded.segment;
    if (s.protocol === 'tcp') {
      tcp.add(s, packet.t);
      continue;
    }
    if (s.payload.length === 0) continue;
    const dns = s.dstPort === 53;
    // DNS: one flow per query; other UDP: one flow per address/port pair.
    const key = dns ? `dns${udp.size}` : `${s.src}|${s.srcPort}|${s.dst}|${s.dstPort}`;
    const flow = udp.get(key) ?? {
      id: `${prefix}#u${udp.size}`,
      t: packet.t,
      protocol: dns ? ('dns' as const) : ('udp' as const),
      destination: { ip: s.dst, port: s.dstPort },
      client: { ip: s.src, port: s.srcPort },
      parts: [],
    };
    flow.parts.push(s.payload);
    udp.set(key, flow);
  }
  for (const [reason, count] of skipped) {
    if (!/^ethertype 0x806$|^IP protocol (1|58|2)$/.test(reason))
      warnings.push(`${path}: skipped ${count} frame(s): ${reason}`);
  }
  const flows: Flow[] = [];
  tcp
    .connectionsInOrder()
    .forEach((c, n) => flows.push(...connectionFlows(prefix, n, c, warnings)));
  for (const { parts, ...flow } of udp.values())
    flows.push({ ...flow, raw: Buffer.concat(parts).toString('base64') });
  if (packets.length > 0 && flows.length === 0)
    warnings.push(`${path}: ${packets.length} packets but no TCP or UDP payload to search`);
  return { flows: flows.sort((a, b) => a.t - b.t), warnings };
}
