import { readFile } from 'node:fs/promises';
import { canarySetSchema, type CanarySet } from '../canary/types.ts';
import type { Flow } from '../capture/flow.ts';
import { InputError } from '../errors.ts';
import type { InstrumentationEvent } from '../android/instrumentation-events.ts';
import { correlate } from './correlate.ts';
import { readEventsJsonl } from './readers/events-jsonl.ts';
import { readHar } from './readers/har.ts';
import { readPcap } from './readers/pcap.ts';
import { readKeyLog } from './readers/tls-keylog.ts';
import type { CorrelateOptions, CorrelationResult } from './result.ts';

/** Captures of one run as files, the way `canarytrap correlate` takes them. */
export interface CaptureFiles {
  canariesPath: string;
  pcap?: string[];
  har?: string[];
  events?: string[];
  /** NSS key log: TLS sessions in the pcaps that it has secrets for are decrypted. */
  keylog?: string;
}

export interface CorrelateFilesInput extends CaptureFiles {
  /** The same image run with another canary set, for differential inference. */
  baseline?: CaptureFiles;
}

export async function readCanarySet(path: string): Promise<CanarySet> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError('canaries-unreadable', `${path}: cannot read the canary set`, {
      cause: error,
      hint: 'pass the canaries.json of a run',
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError('canaries-unreadable', `${path}: not JSON`, {
      cause: error,
      hint: 'pass the canaries.json of a run',
    });
  }
  const parsed = canarySetSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(
      'canaries-unreadable',
      `${path}: not a canary set (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'})`,
      { hint: 'pass the canaries.json of a run' },
    );
  }
  return parsed.data;
}

async function readCaptures(
  files: CaptureFiles,
  warnings: string[],
): Promise<{ canaries: CanarySet; flows: Flow[]; events: InstrumentationEvent[] }> {
  const canaries = await readCanarySet(files.canariesPath);
  const flows: Flow[] = [];
  const events: InstrumentationEvent[] = [];
  const keyLog = files.keylog !== undefined ? await readKeyLog(files.keylog) : undefined;
  if (keyLog) warnings.push(...keyLog.warnings);
  for (const path of files.pcap ?? []) {
    const read = await readPcap(path, keyLog ? { keyLog: keyLog.keys } : {});
    flows.push(...read.flows);
    warnings.push(...read.warnings);
  }
  for (const path of files.har ?? []) {
    const read = await readHar(path);
    flows.push(...read.flows);
    warnings.push(...read.warnings);
  }
  for (const path of files.events ?? []) {
    const read = await readEventsJsonl(path);
    events.push(...read.events);
    warnings.push(...read.warnings);
  }
  return { canaries, flows, events };
}

/** Reads the capture files and correlates them: the `canarytrap correlate` command's engine. */
export async function correlateFiles(
  input: CorrelateFilesInput,
  options: CorrelateOptions = {},
): Promise<CorrelationResult> {
  const warnings: string[] = [];
  const run = await readCaptures(input, warnings);
  const baseline = input.baseline ? await readCaptures(input.baseline, warnings) : undefined;
  const result = correlate({ ...run, ...(baseline ? { baseline } : {}) }, options);
  return { ...result, warnings: [...warnings, ...result.warnings] };
}
