import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FindingKind, FuzzOptions, FuzzReport } from './fuzz-harness.ts';
import { FUZZ_TARGET_NAMES, type FuzzTargetName } from './fuzz-targets.ts';
import type { FuzzWorkerData, FuzzWorkerMessage, FuzzWorkerReply } from './fuzz-worker.ts';

/**
 * Runs the fuzz targets on worker threads watched from this one. A parse that never returns
 * cannot be timed out from inside (a synchronous loop holds its thread), and one that exhausts
 * memory takes its thread down: either way the watchdog stops that worker, reports the input it
 * was on, and a new worker takes the next target. Workers take targets from one queue, so two
 * workers keep two cores busy while the parsers wait on the file system.
 */

export interface CampaignOptions extends Omit<FuzzOptions, 'onInput'> {
  /** Default: every registered target. */
  targets?: readonly FuzzTargetName[];
  /** Targets fuzzed at once, each on its own thread. Default 2. */
  workers?: number;
  /** No new input for this long means the parser hangs. Default 30 s. */
  hangMs?: number;
  /** Heap limit of each fuzzing thread, in MiB. Default 1,024. */
  heapMb?: number;
}

/** How much of the last input is kept for a report (inputs are tens of KiB at most). */
const INPUT_KEPT = 1024 * 1024;
const WATCH_MS = 250;

const TSX = import.meta.resolve('tsx/esm/api');
const ENTRY = new URL('./fuzz-worker.ts', import.meta.url).href;
// The worker is TypeScript: it registers tsx before importing its entry.
const BOOTSTRAP = `import(${JSON.stringify(TSX)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(ENTRY)}); })`;

/** Reports as targets finish; a target that hung or took its thread down has a finding. */
export async function* runFuzzCampaign(options: CampaignOptions): AsyncGenerator<FuzzReport> {
  const queue = [...(options.targets ?? FUZZ_TARGET_NAMES)];
  const scratch = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'ct-fuzz-'));
  const reports: FuzzReport[] = [];
  let wake: (() => void) | undefined;
  const stop = new AbortController();
  const emit = (report: FuzzReport) => {
    reports.push(report);
    wake?.();
  };
  const laneCount = Math.max(1, Math.min(options.workers ?? 2, queue.length));
  let lanesLeft = laneCount;
  let failure: Error | undefined;
  const lanes = Array.from({ length: laneCount }, async () => {
    try {
      while (queue.length > 0 && !stop.signal.aborted) {
        await runWorker(queue, options, scratch, emit, stop.signal);
      }
    } catch (error) {
      failure ??= error instanceof Error ? error : new Error(String(error));
      stop.abort();
    } finally {
      lanesLeft--;
      wake?.();
    }
  });
  try {
    for (;;) {
      const report = reports.shift();
      if (report) yield report;
      else if (lanesLeft === 0) break;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
    if (failure !== undefined) throw failure;
  } finally {
    stop.abort();
    await Promise.all(lanes);
    await rm(scratch, { recursive: true, force: true });
  }
}

/** One worker, taking targets from `queue` until it is empty, the worker dies or `signal` fires. */
async function runWorker(
  queue: FuzzTargetName[],
  options: CampaignOptions,
  scratch: string,
  emit: (report: FuzzReport) => void,
  signal: AbortSignal,
): Promise<void> {
  const { hangMs = 30_000, heapMb = 1024 } = options;
  const control = new SharedArrayBuffer(8);
  const input = new SharedArrayBuffer(INPUT_KEPT);
  const counters = new Int32Array(control);
  const workerData: FuzzWorkerData = {
    options: {
      runs: options.runs,
      seed: options.seed,
      maxInputMs: options.maxInputMs,
      maxRssGrowthBytes: options.maxRssGrowthBytes,
      timeLimitMs: options.timeLimitMs,
    },
    scratch,
    control,
    input,
  };
  const worker = new Worker(BOOTSTRAP, {
    eval: true,
    workerData,
    resourceLimits: { maxOldGenerationSizeMb: heapMb },
  });
  let current: { name: FuzzTargetName; firstInput: number } | undefined;
  let failure: string | undefined;
  let seen = Atomics.load(counters, 0);
  let since = performance.now();
  /** The target the worker was on ends with a finding: the input it was parsing. */
  const lost = (kind: FindingKind, message: string) => {
    if (!current) {
      failure ??= message;
      return;
    }
    const started = Atomics.load(counters, 0);
    const length = Math.min(Atomics.load(counters, 1), INPUT_KEPT);
    emit({
      name: current.name,
      seed: options.seed,
      runs: started - current.firstInput,
      results: 0,
      codedErrors: 0,
      ms: 0,
      codes: {},
      slowestMs: 0,
      peakRssGrowthBytes: 0,
      finding: { kind, message, input: new Uint8Array(input).slice(0, length) },
    });
    current = undefined;
  };
  worker.on('message', (message: FuzzWorkerMessage) => {
    if (message.type === 'next') {
      const name = signal.aborted ? undefined : queue.shift();
      current = name === undefined ? undefined : { name, firstInput: Atomics.load(counters, 0) };
      since = performance.now();
      worker.postMessage({ name } satisfies FuzzWorkerReply);
    } else {
      current = undefined;
      emit(message.report);
    }
  });
  worker.on('error', (error: Error & { code?: string }) => {
    const memory = error.code === 'ERR_WORKER_OUT_OF_MEMORY';
    const what = memory ? 'out of memory' : 'uncaught';
    lost(memory ? 'memory' : 'crash', `${what}: ${error.stack ?? error.message}`);
  });
  const watchdog = setInterval(() => {
    const started = Atomics.load(counters, 0);
    if (started !== seen) {
      seen = started;
      since = performance.now();
    } else if (current && performance.now() - since > hangMs) {
      lost('hang', `no new input for ${hangMs} ms: a parse never returned (hangMs)`);
      void worker.terminate();
    }
  }, WATCH_MS);
  const abort = () => void worker.terminate();
  signal.addEventListener('abort', abort);
  try {
    await new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  } finally {
    clearInterval(watchdog);
    signal.removeEventListener('abort', abort);
  }
  if (failure !== undefined) throw new Error(`the fuzz worker failed: ${failure}`);
}
