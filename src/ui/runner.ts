/** Runs an exercise plan on a session, step by step, leaving a timeline with screenshots. */
import type { Device } from '../device/device.ts';
import type { Logger } from '../log.ts';
import type { UiReport } from '../report/model.ts';
import type { ConsentChoice, ExercisePlan, PlanStep } from './plan.ts';
import type { RunnerContext } from './runner-context.ts';
import { captureScreen, readScreen } from './screen.ts';
import { consentStep, finishSetupStep } from './setup-steps.ts';
import type { UiTimeline } from './timeline.ts';

export interface RunPlanOptions {
  browser: WebdriverIO.Browser;
  device: Device;
  plan: ExercisePlan;
  consents: readonly ConsentChoice[];
  timeline: UiTimeline;
  packages: readonly string[];
  logger: Logger;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n')[0] ?? text).slice(0, 200);
}

/** `open-apps`: each app brought up from its launcher activity, left a while, then backed out of. */
async function openAppsStep(
  ctx: RunnerContext,
  packages: readonly string[],
  seconds: number,
): Promise<void> {
  if (packages.length === 0) {
    await ctx.timeline.record('open-apps', {
      action: 'open-app',
      outcome: 'skipped',
      note: 'no pre-installed apps',
    });
    return;
  }
  for (const pkg of packages) {
    try {
      // The driver resolves the app's launcher activity on the device and starts it.
      await ctx.browser.executeScript('mobile: activateApp', [{ appId: pkg }]);
    } catch (error) {
      await ctx.timeline.record('open-apps', {
        action: 'open-app',
        target: pkg,
        outcome: 'skipped',
        note: /launchable activity|no activity/i.test(firstLine(error))
          ? 'no launcher activity'
          : `not started: ${firstLine(error)}`,
      });
      continue;
    }
    await sleep(seconds * 1000);
    const shown = await readScreen(ctx.browser);
    await ctx.timeline.record(
      'open-apps',
      {
        action: 'open-app',
        target: pkg,
        outcome: 'done',
        note: `${seconds} s in the foreground`,
        ...(shown.foreground ? { screen: shown.foreground } : {}),
      },
      await captureScreen(ctx.browser),
    );
    await backAction(ctx, 'open-apps');
  }
}

async function backAction(ctx: RunnerContext, step: 'open-apps' | 'back'): Promise<void> {
  await ctx.browser.back();
  await sleep(300);
  const shown = await readScreen(ctx.browser);
  await ctx.timeline.record(
    step,
    { action: 'back', outcome: 'done', ...(shown.foreground ? { screen: shown.foreground } : {}) },
    await captureScreen(ctx.browser),
  );
}

async function runStep(ctx: RunnerContext, step: PlanStep): Promise<void> {
  switch (step.do) {
    case 'finish-setup':
      return finishSetupStep(ctx, step.maxScreens);
    case 'consent':
      return consentStep(ctx, step.name);
    case 'open-apps':
      return openAppsStep(ctx, step.packages ?? ctx.packages, step.seconds);
    case 'wait': {
      await sleep(step.seconds * 1000);
      const shown = await readScreen(ctx.browser);
      await ctx.timeline.record(
        'wait',
        {
          action: 'wait',
          outcome: 'done',
          note: `${step.seconds} s`,
          ...(shown.foreground ? { screen: shown.foreground } : {}),
        },
        await captureScreen(ctx.browser),
      );
      return;
    }
    case 'back':
      return backAction(ctx, 'back');
  }
}

/**
 * Runs every step in order. A step that finds nothing is recorded as skipped; an error (the
 * session died, the server stopped answering) ends the plan and is thrown to the caller, with
 * the steps so far kept in the timeline.
 */
export async function runPlan(options: RunPlanOptions): Promise<void> {
  const ctx: RunnerContext = {
    browser: options.browser,
    device: options.device,
    plan: options.plan,
    decisions: new Map(options.consents.map((c) => [c.name, c])),
    timeline: options.timeline,
    packages: options.packages,
    shown: new Set(),
    logger: options.logger,
  };
  try {
    for (const step of options.plan.steps) await runStep(ctx, step);
  } finally {
    options.timeline.consents.splice(
      0,
      options.timeline.consents.length,
      ...options.consents.map((c) => ({ ...c, shown: ctx.shown.has(c.name) })),
    );
  }
}

/** The report's view of a timeline. */
export function uiReport(
  plan: ExercisePlan,
  timeline: UiTimeline,
  consents: readonly ConsentChoice[],
): UiReport {
  const shown = new Map(timeline.consents.map((c) => [c.name, c.shown]));
  return {
    plan: plan.name,
    consents: consents.map((c) => ({ ...c, shown: shown.get(c.name) ?? false })),
    steps: timeline.steps.map((s) => ({ ...s })),
  };
}
