import {
  decideConsents,
  loadPlan,
  parseConsentArgument,
  planForRun,
  type ConsentDecision,
  type ExercisePlanInput,
} from './plan.ts';

/** The UI part of a job's options (the queue's AnalysisOptions holds the same two fields). */
export interface UiJobOptions {
  consents?: Record<string, ConsentDecision>;
  plan?: ExercisePlanInput;
}

export interface UiFlags {
  /** `name=accept|refuse`, repeatable. */
  consent?: string[];
  /** Path of a plan file. */
  plan?: string;
}

/**
 * The UI part of a job's options from the command line, on top of `base` (a rerun's baseline
 * options): the plan file read and checked, consent decisions checked against that plan, so a
 * typo is refused before anything is queued.
 */
export async function uiJobOptions(
  flags: UiFlags,
  imageLabel: string,
  base: UiJobOptions = {},
): Promise<UiJobOptions> {
  const plan = flags.plan ? await loadPlan(flags.plan) : await planForRun(base.plan, imageLabel);
  const consents = {
    ...base.consents,
    ...Object.fromEntries((flags.consent ?? []).map(parseConsentArgument)),
  };
  decideConsents(plan, consents);
  return {
    ...(flags.plan || base.plan ? { plan } : {}),
    ...(Object.keys(consents).length > 0 ? { consents } : {}),
  };
}

/** Commander's collector for a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
