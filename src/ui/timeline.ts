import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { UiConsentRecord, UiStepRecord } from '../report/model.ts';
import type { StepKind } from './plan.ts';

/** Where a run's screenshots and page sources go, relative to the run directory. */
export const UI_DIR = 'ui';

/** What the screen showed after an action: a PNG screenshot (base64) and the page source. */
export interface ScreenCapture {
  pngBase64: string;
  pageSource: string;
}

export type StepEntry = Omit<UiStepRecord, 'index' | 't' | 'screenshot' | 'pageSource'>;

/**
 * The run's UI timeline: every action with the screen after it, saved as
 * `<runDir>/ui/NN-<step>.png` and `.xml`, and announced as it happens. Records survive a step
 * that throws, so a session that dies midway still leaves what it did in the report.
 */
export class UiTimeline {
  readonly steps: UiStepRecord[] = [];
  readonly consents: UiConsentRecord[] = [];
  readonly #runDir: string;
  readonly #announce: (step: UiStepRecord) => Promise<void>;

  constructor(runDir: string, announce: (step: UiStepRecord) => Promise<void>) {
    this.#runDir = runDir;
    this.#announce = announce;
  }

  /** Records one step; with a capture, its files are written first. */
  async record(
    step: StepKind,
    entry: Omit<StepEntry, 'step'>,
    capture?: ScreenCapture,
  ): Promise<UiStepRecord> {
    const index = this.steps.length + 1;
    const record: UiStepRecord = { index, step, ...entry, t: Date.now() };
    if (capture) {
      const base = `${String(index).padStart(2, '0')}-${step}`;
      await mkdir(join(this.#runDir, UI_DIR), { recursive: true });
      record.screenshot = `${UI_DIR}/${base}.png`;
      record.pageSource = `${UI_DIR}/${base}.xml`;
      await writeFile(
        join(this.#runDir, record.screenshot),
        Buffer.from(capture.pngBase64, 'base64'),
      );
      await writeFile(join(this.#runDir, record.pageSource), capture.pageSource);
    }
    this.steps.push(record);
    await this.#announce(record);
    return record;
  }
}

/** One line for `watch` and the live page: "ui 03 finish-setup: tap … — done". */
export function describeStep(step: UiStepRecord): string {
  const target = step.target ? ` ${step.target}` : '';
  const consent = step.consent ? ` [${step.consent}: ${step.decision ?? '?'}]` : '';
  const note = step.note ? ` (${step.note})` : '';
  return `ui ${String(step.index).padStart(2, '0')} ${step.step}: ${step.action}${target}${consent} — ${step.outcome}${note}`;
}
