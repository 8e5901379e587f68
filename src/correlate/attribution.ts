import type { Flow } from '../capture/flow.ts';
import type { InstrumentationEvent } from '../android/instrumentation-events.ts';

/**
 * Which app sent a flow: the package of the hook event that describes the same request
 * (`http.request` with the same URL), the same TLS session (`tls.write` to the host) or the same
 * connection (`net.connect` to the host or address; for an ICMP echo, `exec` of ping to the
 * address). Device and capture clocks can differ (the
 * lab phone's clock is moved forward to fire alarms), so time only breaks ties.
 */
export interface Attribution {
  app?: string;
  /** Indexes of the events describing this flow's request (not searched again on their own). */
  requestEvents: number[];
}

export function flowHost(flow: Flow): string | undefined {
  const header = flow.request?.headers.find(([name]) => name.toLowerCase() === 'host')?.[1];
  let urlHost: string | undefined;
  if (flow.request && /^https?:\/\//i.test(flow.request.url)) {
    try {
      urlHost = new URL(flow.request.url).hostname;
    } catch {
      urlHost = undefined;
    }
  }
  return (
    flow.destination.host ??
    flow.tls?.sni ??
    urlHost ??
    header?.replace(/:\d+$/, '')
  )?.toLowerCase();
}

function urlKey(url: string, host: string | undefined): string {
  try {
    const parsed = new URL(url, `http://${host ?? 'unknown'}`);
    return `${parsed.hostname.toLowerCase()}${parsed.pathname}${parsed.search}`;
  } catch {
    return url;
  }
}

/** The destination of a `ping` command line (its last word), else undefined. */
function pingTarget(command: string): string | undefined {
  const words = command.trim().split(/\s+/);
  const program = words[0]?.split('/').pop();
  return program === 'ping' && words.length > 1 ? words.at(-1) : undefined;
}

function hostOfUrl(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

export function attributeFlows(
  flows: readonly Flow[],
  events: readonly InstrumentationEvent[],
): Map<string, Attribution> {
  const result = new Map<string, Attribution>();
  const used = new Set<number>();
  const ordered = [...flows].sort((a, b) => a.t - b.t);
  for (const flow of ordered) {
    const host = flowHost(flow);
    const key = flow.request ? urlKey(flow.request.url, host) : undefined;
    // Best candidate per kind of evidence: the request itself, the stream it went over, the connection.
    const best = new Map<
      'request' | 'stream' | 'connect',
      { index: number; score: number; dt: number }
    >();
    events.forEach((event, index) => {
      let score = 0;
      let kind: 'request' | 'stream' | 'connect' = 'connect';
      if (event.type === 'http.request' && flow.request && key !== undefined) {
        if (used.has(index)) return;
        kind = 'request';
        if (
          urlKey(event.url, hostOfUrl(event.url)) === key &&
          event.method.toUpperCase() === flow.request.method.toUpperCase()
        )
          score = 4;
        else if (hostOfUrl(event.url) === host) score = 2;
      } else if (event.type === 'tls.write' || event.type === 'net.send') {
        if (used.has(index)) return;
        kind = 'stream';
        const eventHost = event.type === 'tls.write' ? event.host : undefined;
        if (eventHost !== undefined && eventHost.toLowerCase() === host) score = 3;
        else if (event.ip === flow.destination.ip && event.port === flow.destination.port)
          score = 3;
      } else if (event.type === 'net.connect') {
        if (event.host !== undefined && event.host.toLowerCase() === host) score = 1;
        else if (event.ip === flow.destination.ip && event.port === flow.destination.port)
          score = 1;
      } else if (event.type === 'exec' && flow.protocol === 'icmp') {
        // Apps without raw sockets send echoes by running ping; its last word is the address.
        if (pingTarget(event.command) === flow.destination.ip) score = 1;
      }
      if (score === 0) return;
      const dt = Math.abs(event.t - flow.t);
      const current = best.get(kind);
      if (!current || score > current.score || (score === current.score && dt < current.dt))
        best.set(kind, { index, score, dt });
    });
    const candidates = [...best.values()].sort((a, b) => b.score - a.score || a.dt - b.dt);
    const top = candidates[0];
    const app = flow.client?.package ?? (top ? events[top.index]!.package : undefined);
    const requestEvents = candidates.filter((c) => c.score >= 3).map((c) => c.index);
    for (const i of requestEvents) used.add(i);
    result.set(flow.id, { ...(app !== undefined ? { app } : {}), requestEvents });
  }
  return result;
}
