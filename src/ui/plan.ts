/**
 * Exercise plans: what the worker does on the device's screen, as data. A plan names the
 * consents it knows (how to find each and its default decision) and lists steps; a job can
 * override consent decisions, so the same plan runs twice with one consent flipped.
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { InputError } from '../errors.ts';

/** Plans shipped with canarytrap: `default.json`, and `<image name>.json` for an image of its own. */
export const PLANS_DIR = fileURLToPath(new URL('../../images/plans/', import.meta.url));

export const DEFAULT_PLAN_PATH = join(PLANS_DIR, 'default.json');

/** How to find an element: any of these resource ids, else any of these texts. */
const locatorSchema = z
  .object({
    /** Full resource ids ("com.android.provision:id/next"). */
    resourceIds: z.array(z.string().min(1)).default([]),
    /** Visible texts or content descriptions, compared without case. */
    texts: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .refine((l) => l.resourceIds.length + l.texts.length > 0, 'name a resource id or a text');
export type Locator = z.infer<typeof locatorSchema>;

export const DECISIONS = ['accept', 'refuse'] as const;
export type ConsentDecision = (typeof DECISIONS)[number];

const consentSchema = z
  .object({
    /** Kebab-case name a job uses to override the decision ("experience-programme"). */
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a kebab-case name'),
    description: z.string().optional(),
    /** Default accept: a run with the defaults exercises the most. */
    default: z.enum(DECISIONS).default('accept'),
    /** A checkbox or switch: checked means accepted. Texts match part of the label. */
    toggle: locatorSchema.optional(),
    /** Buttons that accept or refuse outright ("I agree" / "No thanks"). */
    acceptButton: locatorSchema.optional(),
    refuseButton: locatorSchema.optional(),
  })
  .strict()
  .refine((c) => c.toggle || c.acceptButton || c.refuseButton, {
    message: 'a consent needs a toggle, an acceptButton or a refuseButton',
  });
export type Consent = z.infer<typeof consentSchema>;

const stepSchema = z.discriminatedUnion('do', [
  z
    .object({
      do: z.literal('finish-setup'),
      /** Screens tapped through at most. Default 12. */
      maxScreens: z.number().int().min(1).max(50).default(12),
    })
    .strict(),
  z.object({ do: z.literal('consent'), name: z.string().min(1) }).strict(),
  z
    .object({
      do: z.literal('open-apps'),
      /** Seconds each app stays in the foreground. Default 3. */
      seconds: z.number().min(0).max(600).default(3),
      /** Only these packages; default every pre-installed app with a launcher activity. */
      packages: z.array(z.string().min(1)).optional(),
    })
    .strict(),
  z.object({ do: z.literal('wait'), seconds: z.number().min(0).max(3600) }).strict(),
  z.object({ do: z.literal('back') }).strict(),
]);
export type PlanStep = z.infer<typeof stepSchema>;
export type StepKind = PlanStep['do'];

export const planSchema = z
  .object({
    version: z.literal(1),
    name: z.string().min(1),
    description: z.string().optional(),
    consents: z.array(consentSchema).default([]),
    /** Buttons that move a setup screen on (Next, Continue, Skip, Done...), tried in order. */
    advance: locatorSchema,
    steps: z.array(stepSchema).min(1),
  })
  .strict()
  .superRefine((plan, ctx) => {
    const names = new Set<string>();
    for (const [i, consent] of plan.consents.entries()) {
      if (names.has(consent.name))
        ctx.addIssue({
          code: 'custom',
          path: ['consents', i, 'name'],
          message: `consent "${consent.name}" is named twice`,
        });
      names.add(consent.name);
    }
    for (const [i, step] of plan.steps.entries()) {
      if (step.do === 'consent' && !names.has(step.name))
        ctx.addIssue({
          code: 'custom',
          path: ['steps', i, 'name'],
          message: `step names consent "${step.name}", which the plan does not declare`,
        });
    }
  });
/** A validated plan; job data carries it as plain JSON. */
export type ExercisePlan = z.infer<typeof planSchema>;
/** A plan as written, before defaults are filled in. */
export type ExercisePlanInput = z.input<typeof planSchema>;

/** Validates a plan; `source` names it in the error. */
export function parsePlan(value: unknown, source: string): ExercisePlan {
  const result = planSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(plan)'}: ${issue.message}`)
    .join('; ');
  throw new InputError('plan-invalid', `the exercise plan ${source} is not valid: ${problems}`, {
    hint: 'see docs/exercise-plans.md for the plan format',
  });
}

/** Reads and validates a plan file; without a path, the default plan. */
export async function loadPlan(path: string = DEFAULT_PLAN_PATH): Promise<ExercisePlan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new InputError('plan-missing', `no exercise plan at ${path}`, {
      cause,
      hint: 'give the path of a plan JSON file',
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new InputError('plan-invalid', `the exercise plan ${path} is not JSON`, { cause });
  }
  return parsePlan(value, path);
}

/** The plan a job carries (validated again: job data crosses process boundaries), else the default. */
export async function planOfJob(plan: unknown): Promise<ExercisePlan> {
  return plan === undefined ? loadPlan() : parsePlan(plan, 'of this job');
}

/**
 * The plan a run follows: the job's own, else the image's (`<plans dir>/<image name>.json`,
 * for firmware whose screens the default plan does not know), else the default plan.
 */
export async function planForRun(
  jobPlan: unknown,
  imageLabel: string,
  plansDir: string = PLANS_DIR,
): Promise<ExercisePlan> {
  if (jobPlan !== undefined) return parsePlan(jobPlan, 'of this job');
  // Only a plain image name picks a file: a label never walks out of the plans directory.
  if (/^[a-z0-9][a-z0-9._-]*$/i.test(imageLabel) && imageLabel !== 'default') {
    const imagePlan = join(plansDir, `${imageLabel.replace(/\.(zip|img)$/i, '')}.json`);
    const found = await access(imagePlan).then(
      () => true,
      () => false,
    );
    if (found) return loadPlan(imagePlan);
  }
  return loadPlan(join(plansDir, 'default.json'));
}

/** A consent decision and where it came from. */
export interface ConsentChoice {
  name: string;
  decision: ConsentDecision;
  source: 'plan' | 'job';
}

/**
 * Every consent of the plan with its decision: the job's where it gives one, else the plan's
 * default. A job naming a consent the plan does not know is refused: a typo would otherwise
 * silently run with the default and the comparison would mean nothing.
 */
export function decideConsents(
  plan: ExercisePlan,
  overrides: Readonly<Record<string, ConsentDecision>> = {},
): ConsentChoice[] {
  const known = new Set(plan.consents.map((c) => c.name));
  const unknown = Object.keys(overrides).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new InputError(
      'consent-unknown',
      `the plan "${plan.name}" has no consent ${unknown.map((n) => `"${n}"`).join(', ')}`,
      { hint: `its consents are: ${[...known].join(', ') || 'none'}` },
    );
  }
  return plan.consents.map((consent) => {
    const override = overrides[consent.name];
    return override
      ? { name: consent.name, decision: override, source: 'job' }
      : { name: consent.name, decision: consent.default, source: 'plan' };
  });
}

/** Parses `name=accept|refuse` (the CLI's `--consent`). */
export function parseConsentArgument(text: string): [string, ConsentDecision] {
  const match = /^([a-z0-9][a-z0-9-]*)=(accept|refuse)$/.exec(text.trim());
  if (!match?.[1] || !match[2]) {
    throw new InputError('consent-invalid', `--consent "${text}" is not name=accept|refuse`, {
      hint: 'e.g. --consent experience-programme=refuse',
    });
  }
  return [match[1], match[2] as ConsentDecision];
}
