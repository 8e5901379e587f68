import { createHash } from 'node:crypto';
import type { Canary } from '../canary/types.ts';
import type { Hit } from './engine.ts';
import type { Leak, LeakSite } from './types.ts';

/** Transforms that locate a value (which field) or undo framing, without changing what it is. */
function isLocator(transform: string): boolean {
  return (
    /^(form|query|multipart|json):/.test(transform) ||
    transform === 'json' ||
    transform === 'json-escape' ||
    transform === 'percent' ||
    transform === 'chunked' ||
    transform === 'dns-labels' ||
    transform === 'qname'
  );
}

export function siteKey(site: LeakSite): string {
  return site.kind === 'flow'
    ? `flow:${site.flowId}:${site.part}:${site.header ?? ''}`
    : `event:${site.eventIndex}:${site.field}`;
}

/** Leaks are one per canary, site and transform chain; locator steps do not make a new leak. */
export function dedupeKey(canaryId: string, site: LeakSite, chain: readonly string[]): string {
  return `${canaryId}|${siteKey(site)}|${chain.filter((t) => !isLocator(t)).join('>')}`;
}

/** Of two hits for one leak, the one that explains more: higher confidence, named fields, shorter chain. */
export function betterHit(a: Hit, b: Hit): Hit {
  if (a.confidence !== b.confidence) return a.confidence > b.confidence ? a : b;
  const locators = (h: Hit): number =>
    h.chain.filter((t) => t.includes(':') && !t.startsWith('http-header:')).length;
  if (locators(a) !== locators(b)) return locators(a) > locators(b) ? a : b;
  if (a.chain.length !== b.chain.length) return a.chain.length < b.chain.length ? a : b;
  return a.matched.length >= b.matched.length ? a : b;
}

export interface LeakContext {
  site: LeakSite;
  destination: Leak['destination'];
  http?: Leak['http'];
  app?: string;
  t: number;
  eventIndexes?: number[];
}

export function leakFromHit(canary: Canary, hit: Hit, context: LeakContext, key: string): Leak {
  return {
    id: createHash('sha1').update(key).digest('hex').slice(0, 12),
    canary: { id: canary.id, kind: canary.kind, value: canary.value },
    site: context.site,
    destination: context.destination,
    ...(context.http ? { http: context.http } : {}),
    ...(context.app !== undefined ? { app: context.app } : {}),
    t: context.t,
    transforms: hit.chain,
    evidence: { offset: hit.offset, excerpt: hit.excerpt, matched: hit.matched },
    confidence: hit.confidence,
    variant: hit.variant.label,
    ...(context.eventIndexes && context.eventIndexes.length > 0
      ? { eventIndexes: context.eventIndexes }
      : {}),
  };
}
