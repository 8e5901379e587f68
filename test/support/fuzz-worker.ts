import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { fuzzTarget, type FuzzOptions, type FuzzReport } from './fuzz-harness.ts';
import { FUZZ_TARGETS, type FuzzTargetName } from './fuzz-targets.ts';

/**
 * A fuzzing thread: asks the campaign for a target, builds its seeds, runs it, and asks again
 * until there is none left. Before every parse it leaves the input in shared memory, so that the
 * campaign can name the input that hung or crashed the thread after stopping it.
 */

export interface FuzzWorkerData {
  options: Omit<FuzzOptions, 'onInput'>;
  /** Created and removed by the campaign, so a stopped thread leaves nothing behind. */
  scratch: string;
  /** Int32 [inputs started, length of the last input]. */
  control: SharedArrayBuffer;
  /** The last input's first bytes. */
  input: SharedArrayBuffer;
}

export type FuzzWorkerMessage = { type: 'next' } | { type: 'report'; report: FuzzReport };

/** The campaign's answer to `next`: a target, or none when the queue is empty. */
export interface FuzzWorkerReply {
  name: FuzzTargetName | undefined;
}

const data = workerData as FuzzWorkerData;
const control = new Int32Array(data.control);
const last = new Uint8Array(data.input);
const port = parentPort;
if (!port) throw new Error('fuzz-worker.ts runs as a worker thread');

const next = () =>
  new Promise<FuzzTargetName | undefined>((resolve) => {
    port.once('message', (reply: FuzzWorkerReply) => resolve(reply.name));
    port.postMessage({ type: 'next' } satisfies FuzzWorkerMessage);
  });

for (let name = await next(); name !== undefined; name = await next()) {
  const dir = join(data.scratch, name);
  await mkdir(dir);
  const target = await FUZZ_TARGETS[name](dir);
  const report = await fuzzTarget(target, {
    ...data.options,
    onInput: (input) => {
      last.set(input.subarray(0, last.length));
      Atomics.store(control, 1, input.length);
      Atomics.add(control, 0, 1);
    },
  });
  port.postMessage({ type: 'report', report } satisfies FuzzWorkerMessage);
}
port.close();
