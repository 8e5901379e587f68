import { createHash } from 'node:crypto';
import type { Canary } from '../canary/types.ts';
import type { Flow } from '../capture/flow.ts';
import { excerptAround, printable } from './bytes.ts';
import { flowHost } from './attribution.ts';
import type { BaselineRun, CorrelateInput } from './result.ts';
import type { Leak, LeakSite } from './types.ts';

/**
 * Differential runs: the same image run twice with different canary sets. A flow whose bytes
 * differ from its twin only in a short span, as long as the span between the two runs' values
 * of one canary (under a length-keeping, hex or base64-like transform), while everything around
 * it is stable, probably carries that canary through a transform we cannot name.
 */
const CONFIDENCE = 0.4;
const MAX_CHANGED_SHARE = 0.5;
const MIN_STABLE = 16;

interface Part {
  part: 'url' | 'body' | 'raw';
  bytes: Buffer;
  chain: string[];
}

function partsOf(flow: Flow): Part[] {
  const prefix = flow.protocol === 'https' || flow.tls ? ['tls'] : [];
  if (flow.request) {
    return [
      {
        part: 'url',
        bytes: Buffer.from(flow.request.url, 'latin1'),
        chain: [...prefix, 'http-url'],
      },
      {
        part: 'body',
        bytes: Buffer.from(flow.request.body, 'base64'),
        chain: [...prefix, 'http-body'],
      },
    ];
  }
  return flow.raw === undefined
    ? []
    : [{ part: 'raw', bytes: Buffer.from(flow.raw, 'base64'), chain: [...prefix, flow.protocol] }];
}

function flowKey(flow: Flow): string {
  const path = flow.request
    ? `${flow.request.method} ${flow.request.url.split('?')[0]}`
    : flow.protocol;
  return `${flowHost(flow) ?? flow.destination.ip}:${flow.destination.port} ${path}`;
}

/**
 * Spans where `a` differs from `b`, with the matching span of `b`: byte-wise for equal lengths
 * (differences closer than 8 bytes joined: encoded values share bytes by chance), else the part
 * between the common prefix and suffix.
 */
function changedSpans(a: Buffer, b: Buffer): Array<[number, number, number, number]> {
  if (a.length === b.length) {
    const spans: Array<[number, number, number, number]> = [];
    for (let i = 0; i < a.length; i++) {
      if (a[i] === b[i]) continue;
      const last = spans[spans.length - 1];
      if (last && i - last[1] <= 8) {
        last[1] = i + 1;
        last[3] = i + 1;
      } else spans.push([i, i + 1, i, i + 1]);
    }
    return spans;
  }
  const { prefix, suffix } = commonEnds(a, b);
  return [[prefix, a.length - suffix, prefix, b.length - suffix]];
}

/** The lengths of the common prefix and of the common suffix after it. */
function commonEnds(
  a: ArrayLike<number> | string,
  b: ArrayLike<number> | string,
): { prefix: number; suffix: number } {
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  let suffix = 0;
  while (
    suffix < a.length - prefix &&
    suffix < b.length - prefix &&
    a[a.length - 1 - suffix] === b[b.length - 1 - suffix]
  )
    suffix++;
  return { prefix, suffix };
}

/** How many characters of a value change between the two runs. */
function valueSpan(current: string, previous: string): number {
  const { prefix, suffix } = commonEnds(current, previous);
  return Math.max(0, current.length - prefix - suffix);
}

function pairCanaries(
  current: Canary[],
  previous: Canary[],
): Array<{ canary: Canary; span: number }> {
  return current.flatMap((canary, i) => {
    const twin =
      previous.find((p) => p.id === canary.id && p.kind === canary.kind) ??
      previous.filter((p) => p.kind === canary.kind)[
        current.slice(0, i).filter((c) => c.kind === canary.kind).length
      ];
    if (!twin || twin.value === canary.value) return [];
    return [{ canary, span: valueSpan(canary.value, twin.value) }];
  });
}

/** Length factors a transform could have, judged by the alphabet of the changed bytes in both runs. */
function factorsFor(a: Buffer, b: Buffer): number[] {
  const text = a.toString('latin1') + b.toString('latin1');
  if (/^[0-9a-fA-F]+$/.test(text)) return [2, 1];
  if (/^[A-Za-z0-9+/_=-]+$/.test(text)) return [4 / 3, 1];
  return [1];
}

/** How badly a value change explains a span: the likelier transform first, then the length error. */
function explains(spanLength: number, valueChange: number, factors: number[]): number | undefined {
  for (const [rank, factor] of factors.entries()) {
    const expected = factor * valueChange;
    const error = Math.abs(spanLength - expected);
    if (error <= Math.max(2, 0.25 * expected)) return rank * 1000 + error;
  }
  return undefined;
}

export function differentialLeaks(
  current: CorrelateInput,
  baseline: BaselineRun,
  found: Set<string>,
  warn: (m: string) => void,
): Leak[] {
  const candidates = pairCanaries(current.canaries.canaries, baseline.canaries.canaries).filter(
    (c) => !found.has(c.canary.id) && c.span >= 3,
  );
  if (candidates.length === 0) return [];
  const twins = new Map<string, Flow[]>();
  for (const flow of baseline.flows)
    twins.set(flowKey(flow), [...(twins.get(flowKey(flow)) ?? []), flow]);
  const leaks: Leak[] = [];
  let unpaired = 0;
  for (const flow of current.flows) {
    const twin = twins.get(flowKey(flow))?.shift();
    if (!twin) {
      unpaired++;
      continue;
    }
    const twinParts = new Map(partsOf(twin).map((p) => [p.part, p.bytes]));
    for (const part of partsOf(flow)) {
      const other = twinParts.get(part.part);
      if (!other || other.equals(part.bytes)) continue;
      const spans = changedSpans(part.bytes, other);
      const changed = spans.reduce((n, [s, e]) => n + (e - s), 0);
      if (
        changed > MAX_CHANGED_SHARE * part.bytes.length ||
        part.bytes.length - changed < MIN_STABLE
      )
        continue;
      for (const [start, end, otherStart, otherEnd] of spans) {
        let best: { canary: Canary; error: number; tied: Canary[] } | undefined;
        const factors = factorsFor(
          part.bytes.subarray(start, end),
          other.subarray(otherStart, otherEnd),
        );
        for (const { canary, span } of candidates) {
          const error = explains(end - start, span, factors);
          if (error === undefined) continue;
          if (!best || error < best.error) best = { canary, error, tied: [] };
          else if (error === best.error) best.tied.push(canary);
        }
        if (!best) continue;
        if (best.tied.length > 0) {
          warn(
            `differential: the change at byte ${start} of ${flow.id} (${part.part}) fits ${[best.canary, ...best.tied].map((c) => c.id).join(', ')} equally; reported as ${best.canary.id} with lower confidence`,
          );
        }
        const site: LeakSite = { kind: 'flow', flowId: flow.id, part: part.part };
        const key = `${best.canary.id}|differential|${flow.id}|${part.part}|${start}`;
        const host = flowHost(flow);
        leaks.push({
          id: createHash('sha1').update(key).digest('hex').slice(0, 12),
          canary: { id: best.canary.id, kind: best.canary.kind, value: best.canary.value },
          site,
          destination: {
            ...(host !== undefined ? { host } : {}),
            ip: flow.destination.ip,
            port: flow.destination.port,
            channel: flow.protocol,
          },
          ...(flow.request ? { http: { method: flow.request.method, url: flow.request.url } } : {}),
          ...(flow.client?.package !== undefined ? { app: flow.client.package } : {}),
          t: flow.t,
          transforms: [...part.chain, 'unknown-transform'],
          evidence: {
            offset: start,
            excerpt: excerptAround(part.bytes, start, end),
            matched: printable(part.bytes.subarray(start, end)),
          },
          confidence: best.tied.length > 0 ? CONFIDENCE / 2 : CONFIDENCE,
          variant: 'differential',
        });
      }
    }
  }
  if (unpaired > 0)
    warn(`differential: ${unpaired} flow(s) had no counterpart in the baseline run`);
  return leaks;
}
