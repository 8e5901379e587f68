/** The UI part of a run report: what was done on the device's screen, and the consent decisions. */

export type UiStepOutcome = 'done' | 'skipped' | 'failed';

export interface UiStepRecord {
  /** 1-based, in the order the actions happened. */
  index: number;
  /** The plan step it belongs to: finish-setup, consent, open-apps, wait, back. */
  step: string;
  /** What was done: observe, tap, check, uncheck, open-app, back, wait. */
  action: string;
  /** What it was done to: a resource id and text, or a package. */
  target?: string;
  /** The consent the action applied, and the decision applied. */
  consent?: string;
  decision?: 'accept' | 'refuse';
  /** Skipped: nothing to act on was found (not a failure). */
  outcome: UiStepOutcome;
  /** Why skipped or failed, or what the action led to, in a few words. */
  note?: string;
  /** Foreground package after the action, where known. */
  screen?: string;
  /** When it happened, ms since the epoch. */
  t: number;
  /** Screenshot after the action (PNG), relative to the run directory: `ui/03-finish-setup.png`. */
  screenshot?: string;
  /** UiAutomator2 page source after the action (XML), relative to the run directory. */
  pageSource?: string;
}

export interface UiConsentRecord {
  name: string;
  decision: 'accept' | 'refuse';
  /** `job`: the job overrode the plan's default. */
  source: 'plan' | 'job';
  /** Whether a screen asked for it: a consent never shown was not applied. */
  shown: boolean;
}

export interface UiReport {
  /** The exercise plan's name. */
  plan: string;
  consents: UiConsentRecord[];
  steps: UiStepRecord[];
}
