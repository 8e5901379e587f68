import fc from 'fast-check';
import { isCanarytrapError } from '../../src/errors.ts';
import {
  applyCase,
  fuzzCases,
  type FuzzCase,
  type FuzzSeed,
  type MutationProfile,
} from './fuzz-mutations.ts';

/**
 * Runs one parser on mutated inputs with fast-check: every input must end in a result or a
 * coded error (a CanarytrapError), within a time bound and without unbounded memory. Anything
 * else (a TypeError, a RangeError, a plain Error, a slow or bloated parse) is a finding,
 * shrunk by fast-check to the fewest mutations that still show it.
 */

export interface FuzzTarget extends MutationProfile {
  /** Printed in the report: `fuzz <name>: …`. */
  name: string;
  /** Valid inputs, built by the project's writers; each must parse to a result. */
  seeds: readonly FuzzSeed[];
  /** Makes a mutated input pass its integrity checks (checksums) so mutations reach past them. */
  repair?: (input: Buffer) => Buffer;
  /** Parses one input: resolves to a result, or rejects with a coded error on bad input. */
  parse(input: Buffer): Promise<unknown>;
  /** What is wrong with a seed's result, if it is not what the seed was built to reach. */
  seedProblem?: (result: unknown) => string | undefined;
}

export interface FuzzOptions {
  /** Inputs to try (fast-check's numRuns). */
  runs: number;
  /** fast-check's seed: the same seed tries the same inputs on every machine. */
  seed: number;
  /** One parse taking longer is a finding. Default 2,000 ms. */
  maxInputMs?: number;
  /** Resident memory may grow this much over the target's start. Default 512 MiB. */
  maxRssGrowthBytes?: number;
  /** Stop after this long even if `runs` are not done (the long campaign's budget). */
  timeLimitMs?: number;
  /** Sees each input before it is parsed: the watchdog keeps the last one. */
  onInput?: (input: Buffer) => void;
}

export type FindingKind = 'crash' | 'slow' | 'memory' | 'hang' | 'seed';

export interface Finding {
  kind: FindingKind;
  message: string;
  /** The input that shows it (after shrinking, where fast-check could shrink). */
  input: Uint8Array;
  /** The mutations that made it, as JSON. */
  mutations?: string;
}

export interface FuzzReport {
  name: string;
  seed: number;
  runs: number;
  results: number;
  codedErrors: number;
  ms: number;
  /** How often each error code came back. */
  codes: Record<string, number>;
  slowestMs: number;
  peakRssGrowthBytes: number;
  finding?: Finding;
}

const DEFAULTS = { maxInputMs: 2_000, maxRssGrowthBytes: 512 * 1024 * 1024 };

type Outcome =
  | { kind: 'result' }
  | { kind: 'coded'; code: string }
  | { kind: 'finding'; finding: Omit<Finding, 'input'> };

class FindingError extends Error {
  constructor(readonly finding: Omit<Finding, 'input'>) {
    super(finding.message);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const frame = error.stack?.split('\n').find((l) => l.includes('/src/'));
    return `${error.name}: ${error.message}${frame ? ` (${frame.trim()})` : ''}`;
  }
  return `non-error thrown: ${String(error)}`;
}

export async function fuzzTarget(target: FuzzTarget, options: FuzzOptions): Promise<FuzzReport> {
  const { maxInputMs, maxRssGrowthBytes } = { ...DEFAULTS, ...options };
  const baseline = process.memoryUsage.rss();
  const report: FuzzReport = {
    name: target.name,
    seed: options.seed,
    runs: 0,
    results: 0,
    codedErrors: 0,
    ms: 0,
    codes: {},
    slowestMs: 0,
    peakRssGrowthBytes: 0,
  };
  let parses = 0;
  const parseOnce = async (input: Buffer): Promise<Outcome> => {
    options.onInput?.(input);
    const started = performance.now();
    let outcome: Outcome;
    try {
      await target.parse(input);
      outcome = { kind: 'result' };
    } catch (error) {
      outcome = isCanarytrapError(error)
        ? { kind: 'coded', code: error.code }
        : { kind: 'finding', finding: { kind: 'crash', message: describe(error) } };
    }
    const ms = performance.now() - started;
    // Reading the resident size costs a /proc read: every few inputs, and after any slow one
    // (what allocates much takes time too), is enough to see growth.
    const growth = ++parses % 8 === 0 || ms > 50 ? process.memoryUsage.rss() - baseline : 0;
    report.slowestMs = Math.max(report.slowestMs, ms);
    report.peakRssGrowthBytes = Math.max(report.peakRssGrowthBytes, growth);
    if (outcome.kind !== 'finding' && ms > maxInputMs) {
      const message = `one input took ${Math.round(ms)} ms (limit ${maxInputMs} ms)`;
      return { kind: 'finding', finding: { kind: 'slow', message } };
    }
    if (outcome.kind !== 'finding' && growth > maxRssGrowthBytes) {
      const message = `resident memory grew by ${growth >> 20} MiB (limit ${maxRssGrowthBytes >> 20} MiB)`;
      return { kind: 'finding', finding: { kind: 'memory', message } };
    }
    return outcome;
  };

  const started = performance.now();
  for (const [i, seed] of target.seeds.entries()) {
    const outcome = await parseOnce(seed.bytes);
    if (outcome.kind !== 'result') {
      const why = outcome.kind === 'coded' ? `error ${outcome.code}` : outcome.finding.message;
      report.finding = {
        kind: 'seed',
        message: `seed ${i} does not parse: ${why}`,
        input: seed.bytes,
      };
      return report;
    }
    const problem = target.seedProblem?.(await target.parse(seed.bytes));
    if (problem !== undefined) {
      report.finding = { kind: 'seed', message: `seed ${i}: ${problem}`, input: seed.bytes };
      return report;
    }
  }
  const bytesOf = (c: FuzzCase): Buffer => {
    const bytes = applyCase(target.seeds, target, c);
    return c.repair && target.repair ? target.repair(bytes) : bytes;
  };
  let failing = false;
  const property = fc.asyncProperty(fuzzCases(target.seeds, target), async (c) => {
    const outcome = await parseOnce(bytesOf(c));
    if (!failing) {
      report.runs++;
      if (outcome.kind === 'result') report.results++;
      if (outcome.kind === 'coded') {
        report.codedErrors++;
        report.codes[outcome.code] = (report.codes[outcome.code] ?? 0) + 1;
      }
    }
    if (outcome.kind === 'finding') {
      failing = true;
      throw new FindingError(outcome.finding);
    }
  });
  const parameters: fc.Parameters<[FuzzCase]> = { seed: options.seed, numRuns: options.runs };
  // fast-check types its built-in plugins for any property (Plugin<unknown>), not for this one.
  if (options.timeLimitMs !== undefined)
    parameters.plugins = [fc.interruptAfterTimeLimit(options.timeLimitMs) as fc.Plugin<[FuzzCase]>];
  const details = await fc.check(property, parameters);
  report.ms = Math.round(performance.now() - started);
  if (details.failed && details.counterexample) {
    const [c] = details.counterexample;
    const error = details.errorInstance;
    const finding =
      error instanceof FindingError
        ? error.finding
        : { kind: 'crash' as const, message: describe(error) };
    report.finding = {
      ...finding,
      input: bytesOf(c),
      mutations: JSON.stringify(c, (_k, v: unknown) =>
        typeof v === 'bigint' ? `0x${v.toString(16)}` : v instanceof Uint8Array ? [...v] : v,
      ),
    };
  }
  return report;
}

/** `fuzz <name>: <n> inputs, <results> results, <errors> coded errors, <ms> ms (…)` */
export function reportLine(report: FuzzReport): string {
  const codes = Object.entries(report.codes)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const extra = [
    `slowest ${Math.round(report.slowestMs)} ms`,
    `rss +${Math.max(0, report.peakRssGrowthBytes) >> 20} MiB`,
    ...(codes ? [codes] : []),
  ].join('; ');
  return `fuzz ${report.name}: ${report.runs} inputs, ${report.results} results, ${report.codedErrors} coded errors, ${report.ms} ms (${extra})`;
}

/** Several lines saying what was found and how to replay it. */
export function findingText(report: FuzzReport): string {
  const f = report.finding;
  if (!f) return '';
  const hex = Buffer.from(f.input).toString('hex');
  const shown = hex.length > 512 ? `${hex.slice(0, 512)}… (${f.input.length} bytes)` : hex;
  return [
    `fuzz ${report.name}: ${f.kind}: ${f.message}`,
    `  replay: FUZZ_SEED=${report.seed} (fast-check seed), mutations ${f.mutations ?? (f.kind === 'seed' ? 'none (a seed)' : 'unknown (the thread was stopped mid-parse)')}`,
    `  input: ${shown}`,
  ].join('\n');
}
