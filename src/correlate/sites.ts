import type { Flow } from '../capture/flow.ts';
import type { InstrumentationEvent } from '../android/instrumentation-events.ts';
import { queryChildren } from './decode/http.ts';
import { base32Decode } from './decode/text.ts';
import type { LayerHints } from './explore.ts';
import { looksLikeHttpRequest, parseRequests } from './readers/http-stream.ts';
import type { LeakSite } from './types.ts';

/** One place bytes left through: the root layer a search starts from, and what it is. */
export interface SearchRoot {
  site: LeakSite;
  bytes: Buffer;
  chain: string[];
  hints: LayerHints;
}

function headerValue(headers: Array<[string, string]>, name: string): string | undefined {
  return headers.find(([n]) => n.toLowerCase() === name)?.[1];
}

function httpRoots(
  makeSite: (part: 'url' | 'header' | 'body', header?: string) => LeakSite,
  prefix: string[],
  request: { url: string; headers: Array<[string, string]>; body: Buffer },
): SearchRoot[] {
  const roots: SearchRoot[] = [];
  const urlChain = [...prefix, 'http-url'];
  roots.push({
    site: makeSite('url'),
    bytes: Buffer.from(request.url, 'latin1'),
    chain: urlChain,
    hints: {},
  });
  for (const child of queryChildren(request.url)) {
    roots.push({
      site: makeSite('url'),
      bytes: child.bytes,
      chain: [...urlChain, ...child.transforms],
      hints: {},
    });
  }
  for (const [name, value] of request.headers) {
    const lower = name.toLowerCase();
    roots.push({
      site: makeSite('header', lower),
      bytes: Buffer.from(value, 'latin1'),
      chain: [...prefix, `http-header:${lower}`],
      hints: {},
    });
  }
  if (request.body.length > 0) {
    const contentType = headerValue(request.headers, 'content-type');
    const contentEncoding = headerValue(request.headers, 'content-encoding');
    const transferEncoding = headerValue(request.headers, 'transfer-encoding');
    roots.push({
      site: makeSite('body'),
      bytes: request.body,
      chain: [...prefix, 'http-body'],
      hints: {
        ...(contentType !== undefined ? { contentType } : {}),
        ...(contentEncoding !== undefined ? { contentEncoding } : {}),
        ...(transferEncoding !== undefined ? { transferEncoding } : {}),
      },
    });
    // DNS over HTTPS (RFC 8484): the body is a query in wire format, whose name's labels are
    // split by length bytes; its payload is read as a DNS flow's is (the name's own text adds
    // nothing to the body's, so that root is left out).
    const name =
      contentType !== undefined && /application\/dns-message/i.test(contentType)
        ? dnsQueryName(request.body)
        : undefined;
    if (name !== undefined) {
      roots.push(
        ...dnsPayloadRoots(name, { site: makeSite('body'), hints: {} }, [
          ...prefix,
          'http-body',
          'qname',
        ]).slice(1),
      );
    }
  }
  return roots;
}

/** A DNS name's labels under the registrable zone, joined: where DNS tunnels put their payload. */
function dnsPayloadRoots(
  name: string,
  base: Omit<SearchRoot, 'bytes' | 'chain'>,
  prefix: string[],
): SearchRoot[] {
  const labels = name.split('.').filter((l) => l !== '');
  const payload = labels.slice(0, Math.max(0, labels.length - 2)).join('');
  const roots: SearchRoot[] = [{ ...base, bytes: Buffer.from(name, 'latin1'), chain: prefix }];
  if (payload.length >= 8) {
    roots.push({
      ...base,
      bytes: Buffer.from(payload, 'latin1'),
      chain: [...prefix, 'dns-labels'],
    });
    const b32 = base32Decode(payload);
    if (b32 && b32.length >= 4)
      roots.push({ ...base, bytes: b32, chain: [...prefix, 'dns-labels', 'base32'] });
  }
  return roots;
}

/** QNAME of a DNS query message (wire format), for raw UDP/53 flows. */
export function dnsQueryName(message: Buffer): string | undefined {
  if (message.length < 17) return undefined;
  const labels: string[] = [];
  let at = 12;
  while (at < message.length) {
    const length = message[at]!;
    if (length === 0) return labels.join('.');
    if (length > 63 || at + 1 + length > message.length) return undefined;
    labels.push(message.toString('latin1', at + 1, at + 1 + length));
    at += 1 + length;
  }
  return undefined;
}

export function flowRoots(flow: Flow): SearchRoot[] {
  const tls = flow.protocol === 'https' || flow.protocol === 'tls' || flow.tls !== undefined;
  const prefix = tls ? ['tls'] : [];
  if (flow.request) {
    const request = {
      url: flow.request.url,
      headers: flow.request.headers,
      body: Buffer.from(flow.request.body, 'base64'),
    };
    return httpRoots(
      (part, header) => ({ kind: 'flow', flowId: flow.id, part, ...(header ? { header } : {}) }),
      prefix,
      request,
    );
  }
  if (flow.raw === undefined) return [];
  const raw = Buffer.from(flow.raw, 'base64');
  const site: LeakSite = { kind: 'flow', flowId: flow.id, part: 'raw' };
  if (flow.protocol === 'dns') {
    const name = dnsQueryName(raw);
    const roots: SearchRoot[] = [{ site, bytes: raw, chain: ['dns'], hints: {} }];
    if (name !== undefined)
      roots.push(...dnsPayloadRoots(name, { site, hints: {} }, ['dns', 'qname']));
    return roots;
  }
  return [
    {
      site,
      bytes: raw,
      chain: [...prefix, flow.protocol === 'tls' ? 'raw' : flow.protocol],
      hints: {},
    },
  ];
}

/** Event sites: what hooks saw leave (requests, writes, SMS, DNS names). */
export function eventRoots(event: InstrumentationEvent, index: number): SearchRoot[] {
  const site = (field: string): LeakSite => ({
    kind: 'event',
    eventIndex: index,
    eventType: event.type,
    field,
  });
  switch (event.type) {
    case 'http.request': {
      const request = {
        url: event.url,
        headers: event.headers ?? [],
        body: Buffer.from(event.body ?? '', 'base64'),
      };
      return httpRoots((part, header) => site(header ? `header:${header}` : part), [], request);
    }
    case 'tls.write':
    case 'net.send': {
      const data = Buffer.from(event.data, 'base64');
      const prefix = event.type === 'tls.write' ? ['tls'] : ['tcp'];
      if (looksLikeHttpRequest(data)) {
        const { requests } = parseRequests(data);
        return requests.flatMap((r) =>
          httpRoots(
            (part, header) => site(header ? `data:header:${header}` : `data:${part}`),
            prefix,
            r,
          ),
        );
      }
      return [{ site: site('data'), bytes: data, chain: prefix, hints: {} }];
    }
    case 'sms.send': {
      const roots: SearchRoot[] = [];
      if (event.body !== undefined)
        roots.push({
          site: site('body'),
          bytes: Buffer.from(event.body, 'utf8'),
          chain: ['sms'],
          hints: {},
        });
      if (event.data !== undefined)
        roots.push({
          site: site('data'),
          bytes: Buffer.from(event.data, 'base64'),
          chain: ['sms-data'],
          hints: {},
        });
      return roots;
    }
    case 'dns.query':
      return dnsPayloadRoots(event.name, { site: site('name'), hints: {} }, ['dns']);
    default:
      return [];
  }
}
