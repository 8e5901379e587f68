import type { Flow } from '../capture/flow.ts';
import type { InstrumentationEvent } from '../android/instrumentation-events.ts';
import { attributeFlows, flowHost } from './attribution.ts';
import { differentialLeaks } from './differential.ts';
import { SearchIndex, type Hit } from './engine.ts';
import { explore, type ExploreStats } from './explore.ts';
import { betterHit, dedupeKey, leakFromHit, type LeakContext } from './leaks.ts';
import { opaqueReason, summariseOpaque } from './opaque.ts';
import type {
  CorrelateInput,
  CorrelateOptions,
  CorrelationResult,
  OpaqueFlowSummary,
} from './result.ts';
import { eventRoots, flowRoots, type SearchRoot } from './sites.ts';
import type { Leak } from './types.ts';

function absoluteUrl(flow: Flow, host: string | undefined): string {
  const url = flow.request?.url ?? '';
  if (!url.startsWith('/') || host === undefined) return url;
  const scheme = flow.protocol === 'https' || flow.tls ? 'https' : 'http';
  const defaultPort = scheme === 'https' ? 443 : 80;
  return `${scheme}://${host}${flow.destination.port === defaultPort ? '' : `:${flow.destination.port}`}${url}`;
}

function eventContext(event: InstrumentationEvent): Omit<LeakContext, 'site'> {
  const base = { app: event.package, t: event.t };
  switch (event.type) {
    case 'http.request': {
      let host: string | undefined;
      let https = false;
      try {
        const url = new URL(event.url);
        host = url.hostname;
        https = url.protocol === 'https:';
      } catch {
        host = undefined;
      }
      return {
        ...base,
        destination: { ...(host !== undefined ? { host } : {}), channel: https ? 'https' : 'http' },
        http: { method: event.method, url: event.url },
      };
    }
    case 'tls.write':
      return {
        ...base,
        destination: {
          ...(event.host !== undefined ? { host: event.host } : {}),
          ...(event.ip !== undefined ? { ip: event.ip } : {}),
          ...(event.port !== undefined ? { port: event.port } : {}),
          channel: 'tls',
        },
      };
    case 'net.send':
      return { ...base, destination: { ip: event.ip, port: event.port, channel: 'tcp' } };
    case 'sms.send':
      return { ...base, destination: { host: event.destination, channel: 'sms' } };
    case 'dns.query':
      return { ...base, destination: { host: event.name, channel: 'dns' } };
    default:
      return { ...base, destination: { channel: event.type } };
  }
}

/**
 * Canaries × flows × events → leaks. Pure and synchronous: the pipeline and the
 * `canarytrap correlate` command both call it. Leaks are deduplicated per canary, site and
 * transform chain, and handed to `onLeak` flow by flow as they are found.
 */
export function correlate(
  input: CorrelateInput,
  options: CorrelateOptions = {},
): CorrelationResult {
  const started = performance.now();
  const canaries = input.canaries.canaries;
  const index = new SearchIndex(canaries, input.events);
  const warnings = [...index.warnings];
  const warn = (message: string): void => {
    if (!warnings.includes(message)) warnings.push(message);
  };
  const stats: ExploreStats = { layers: 0, bytes: 0 };
  const leaks: Leak[] = [];
  const opaque: OpaqueFlowSummary[] = [];
  const emitted = new Set<string>();

  const searchSite = (roots: SearchRoot[], context: (root: SearchRoot) => LeakContext): void => {
    const best = new Map<string, { hit: Hit; root: SearchRoot }>();
    for (const root of roots) {
      for (const hit of explore(index, root.bytes, root.chain, root.hints, warn, stats)) {
        const canary = canaries[hit.canaryIndex]!;
        const key = dedupeKey(canary.id, root.site, hit.chain);
        const current = best.get(key);
        if (!current || betterHit(hit, current.hit) === hit) best.set(key, { hit, root });
      }
    }
    for (const [key, { hit, root }] of best) {
      if (emitted.has(key)) continue;
      emitted.add(key);
      const leak = leakFromHit(canaries[hit.canaryIndex]!, hit, context(root), key);
      leaks.push(leak);
      options.onLeak?.(leak);
    }
  };

  const attributions = attributeFlows(input.flows, input.events);
  const describedByFlows = new Set<number>();
  for (const flow of input.flows) {
    const attribution = attributions.get(flow.id) ?? { requestEvents: [] };
    const host = flowHost(flow);
    const cause = opaqueReason(flow);
    if (cause !== undefined) {
      opaque.push(summariseOpaque(flow, cause, attribution, input.events));
    } else {
      for (const i of attribution.requestEvents) describedByFlows.add(i);
    }
    const http = flow.request
      ? { method: flow.request.method, url: absoluteUrl(flow, host) }
      : undefined;
    searchSite(flowRoots(flow), (root) => ({
      site: root.site,
      destination: {
        ...(host !== undefined ? { host } : {}),
        ip: flow.destination.ip,
        port: flow.destination.port,
        channel: flow.protocol,
      },
      ...(http ? { http } : {}),
      ...(attribution.app !== undefined ? { app: attribution.app } : {}),
      t: flow.t,
      eventIndexes: attribution.requestEvents,
    }));
  }
  input.events.forEach((event, i) => {
    // A hook event describing a flow we could read holds the same bytes: one leak, not two.
    if (describedByFlows.has(i)) return;
    const context = eventContext(event);
    searchSite(eventRoots(event, i), (root) => ({ ...context, site: root.site }));
  });

  if (input.baseline) {
    for (const leak of differentialLeaks(
      input,
      input.baseline,
      new Set(leaks.map((l) => l.canary.id)),
      warn,
    )) {
      leaks.push(leak);
      options.onLeak?.(leak);
    }
  }
  if (input.flows.length === 0 && input.events.length === 0)
    warn('no flows and no events were given: nothing was searched');
  return {
    leaks,
    opaque,
    warnings,
    stats: {
      canaries: canaries.length,
      variants: index.variants.length,
      flows: input.flows.length,
      events: input.events.length,
      bytesSearched: stats.bytes,
      layers: stats.layers,
      durationMs: Math.round(performance.now() - started),
    },
  };
}
