import { z } from 'zod';
import { LAUNCHER_NAMES } from '../config.ts';
import { InputError } from '../errors.ts';
import { DECISIONS, type ExercisePlanInput } from '../ui/plan.ts';
import type { AnalysisOptions } from './job-data.ts';
import { IMAGE_ABIS } from './lanes.ts';

/** Bounds of a run's numbers: large enough for any real analysis, small enough to finish. */
export const OPTION_LIMITS = {
  perProvider: { min: 1, max: 1000 },
  advanceHours: { min: 1, max: 10_000 },
  stepHours: { min: 1, max: 10_000 },
} as const;

const count = (name: keyof typeof OPTION_LIMITS) =>
  z
    .number({ message: `"${name}" must be a number` })
    .finite(`"${name}" must be a finite number`)
    .int(`"${name}" must be a whole number`)
    .min(OPTION_LIMITS[name].min, `"${name}" must be at least ${OPTION_LIMITS[name].min}`)
    .max(OPTION_LIMITS[name].max, `"${name}" must be at most ${OPTION_LIMITS[name].max}`);

/**
 * A job's options, as every door takes them: the CLI, the JSON API and the pages all parse with
 * this one schema, so what one refuses the others refuse too. (The queue dashboard is read-only.)
 */
export const analysisOptionsSchema = z
  .object({
    perProvider: count('perProvider').optional(),
    advanceHours: count('advanceHours').optional(),
    stepHours: count('stepHours').optional(),
    launcher: z.enum(LAUNCHER_NAMES).optional(),
    abi: z
      .enum(IMAGE_ABIS, { message: `"abi" must be one of ${IMAGE_ABIS.join(', ')}` })
      .optional(),
    uncontained: z.boolean({ message: '"uncontained" must be true or false' }).optional(),
    consents: z
      .record(
        z.string().min(1),
        z.enum(DECISIONS, { message: 'a consent decision must be "accept" or "refuse"' }),
      )
      .optional(),
    /** Checked against the plan schema (and the consents) before queueing; here: an object. */
    plan: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/**
 * Options parsed and checked; an invalid one throws `options-invalid` naming (up to five of) the
 * fields that are wrong.
 */
export function parseAnalysisOptions(value: unknown): AnalysisOptions {
  const result = analysisOptionsSchema.safeParse(value ?? {});
  if (!result.success) {
    const problems = result.error.issues
      .slice(0, 5)
      .map((issue) => {
        const path = issue.path.join('.');
        return issue.code === 'unrecognized_keys' || !path || issue.message.includes(`"${path}"`)
          ? issue.message
          : `"${path}": ${issue.message}`;
      })
      .join('; ');
    throw new InputError('options-invalid', `the run options are not valid: ${problems}`, {
      hint: `perProvider ${OPTION_LIMITS.perProvider.min}–${OPTION_LIMITS.perProvider.max}, advanceHours and stepHours ${OPTION_LIMITS.advanceHours.min}–${OPTION_LIMITS.advanceHours.max}, whole numbers`,
    });
  }
  const { plan, uncontained, ...rest } = result.data;
  return {
    ...rest,
    ...(uncontained ? { uncontained: true } : {}),
    ...(plan ? { plan: plan as ExercisePlanInput } : {}),
  };
}

/**
 * A number typed as text (a CLI flag, a form field): only a plain decimal counts, so "abc",
 * "" and "0x10" are refused by the schema rather than read as NaN, 0 or 16.
 */
export function numberFromText(text: string): number {
  const trimmed = text.trim();
  return /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(trimmed) ? Number(trimmed) : Number.NaN;
}
