import { basename } from 'node:path';
import type { Flow } from '../../capture/flow.ts';
import { capturePackets } from './capture-file.ts';
import { looksLikeHttpRequest, parseRequests, parseResponses } from './http-stream.ts';
import { decodeFrame } from './packet.ts';
import { TcpReassembler, type TcpConnection } from './tcp-reassembly.ts';
import { clientHelloSni, isTlsHandshake } from './tls-hello.ts';
import { decryptTls } from './tls-decrypt.ts';
import type { KeyLog } from './tls-keylog.ts';

export interface CaptureReadResult {
  flows: Flow[];
  warnings: string[];
}

interface TlsState {
  sni?: string;
  decrypted: boolean;
}

/** HTTP/1.x requests of a client stream, each with its response where one was captured. */
function httpFlows(
  id: string,
  c: TcpConnection,
  upstream: Buffer,
  downstream: Buffer,
  warnings: string[],
  tls?: TlsState,
): Flow[] {
  const destination = { ip: c.server.ip, port: c.server.port };
  const { requests, rest } = parseRequests(upstream);
  const responses = parseResponses(downstream);
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
      protocol: tls ? ('https' as const) : ('http' as const),
      destination: { ...destination, ...(host !== undefined ? { host } : {}) },
      client: { ip: c.client.ip, port: c.client.port },
      request: {
        method: r.method,
        url: r.url,
        httpVersion: r.httpVersion,
        headers: r.headers,
        body: r.body.toString('base64'),
      },
      ...(response
        ? { response: { status: response.status, headers: response.headers, body: response.body } }
        : {}),
      ...(tls ? { tls } : {}),
    };
  });
}

/** A TLS connection: decrypted with the key log where it has the session, opaque otherwise. */
function tlsFlows(
  id: string,
  c: TcpConnection,
  warnings: string[],
  keyLog: KeyLog | undefined,
): Flow[] {
  const sni = clientHelloSni(c.upstream);
  const destination = {
    ip: c.server.ip,
    port: c.server.port,
    ...(sni !== undefined ? { host: sni } : {}),
  };
  const client = { ip: c.client.ip, port: c.client.port };
  const named = sni !== undefined ? { sni } : {};
  const rawFlow = (bytes: Buffer, decrypted: boolean): Flow[] => [
    {
      id,
      t: c.t,
      protocol: 'tls',
      destination,
      client,
      raw: bytes.toString('base64'),
      tls: { ...named, decrypted },
    },
  ];
  if (keyLog) {
    const decryption = decryptTls(c.upstream, c.downstream, keyLog);
    const where = `${id} (TLS to ${sni ?? destination.ip})`;
    if (!decryption.ok) warnings.push(`${where}: not decrypted: ${decryption.reason}`);
    else {
      for (const problem of decryption.problems) warnings.push(`${where}: ${problem}`);
      if (looksLikeHttpRequest(decryption.upstream)) {
        const tls = { ...named, decrypted: true };
        return httpFlows(id, c, decryption.upstream, decryption.downstream, warnings, tls);
      }
      if (decryption.upstream.length > 0) return rawFlow(decryption.upstream, true);
    }
  }
  return rawFlow(c.upstream, false);
}

function connectionFlows(
  prefix: string,
  n: number,
  c: TcpConnection,
  warnings: string[],
  keyLog: KeyLog | undefined,
): Flow[] {
  const destination = { ip: c.server.ip, port: c.server.port };
  const client = { ip: c.client.ip, port: c.client.port };
  const id = `${prefix}#${n}`;
  if (c.gaps > 0)
    warnings.push(
      `${id} (${client.ip}:${client.port} → ${destination.ip}:${destination.port}): ${c.gaps} gap(s) in the TCP stream (lost segments); searched what was captured`,
    );
  if (c.upstream.length === 0) return [];
  if (looksLikeHttpRequest(c.upstream)) return httpFlows(id, c, c.upstream, c.downstream, warnings);
  if (isTlsHandshake(c.upstream)) return tlsFlows(id, c, warnings, keyLog);
  return [{ id, t: c.t, protocol: 'tcp', destination, client, raw: c.upstream.toString('base64') }];
}

export interface PcapReadOptions {
  /** Secrets from an NSS key log: TLS sessions found in it are decrypted. */
  keyLog?: KeyLog;
}

/**
 * Flows of a pcap or pcapng file: TCP reassembled, HTTP/1.x parsed, TLS decrypted with the key
 * log or named by SNI, UDP by datagram stream.
 */
export async function readPcap(
  path: string,
  options: PcapReadOptions = {},
): Promise<CaptureReadResult> {
  const prefix = basename(path);
  const warnings: string[] = [];
  const tcp = new TcpReassembler();
  const udp = new Map<string, Flow & { parts: Buffer[] }>();
  const skipped = new Map<string, number>();
  let packets = 0;
  // Packets are read from disk one at a time: only reassembled payloads stay in memory.
  for await (const packet of capturePackets(path, warnings)) {
    packets++;
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
    if (s.protocol === 'icmp') {
      const n = udp.size;
      udp.set(`icmp${n}`, {
        id: `${prefix}#i${n}`,
        t: packet.t,
        protocol: 'icmp',
        destination: { ip: s.dst, port: 0 },
        client: { ip: s.src, port: 0 },
        parts: [s.payload],
      });
      continue;
    }
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
    .forEach((c, n) => flows.push(...connectionFlows(prefix, n, c, warnings, options.keyLog)));
  for (const { parts, ...flow } of udp.values())
    flows.push({ ...flow, raw: Buffer.concat(parts).toString('base64') });
  if (packets > 0 && flows.length === 0)
    warnings.push(`${path}: ${packets} packets but no TCP or UDP payload to search`);
  return { flows: flows.sort((a, b) => a.t - b.t), warnings };
}
