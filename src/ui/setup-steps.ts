/** The setup wizard and consents: tap through, applying each consent where a screen shows it. */
import type { Consent } from './plan.ts';
import type { RunnerContext } from './runner-context.ts';
import {
  captureScreen,
  checkableFor,
  clickTarget,
  findNode,
  readScreen,
  tap,
  type Screen,
} from './screen.ts';
import { describeNode } from './page-source.ts';
import type { StepKind } from './plan.ts';

/** What applying a consent did on the current screen. */
export type ConsentResult = 'absent' | 'applied' | 'advanced';

const settle = (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms));

/** Setup is finished when the OS says so: what the wizard's last screen writes on every build. */
export async function setupFinished(ctx: RunnerContext): Promise<boolean | undefined> {
  const result = await ctx.device.shell('settings get secure user_setup_complete', {
    allowFailure: true,
    timeoutMs: 15_000,
  });
  const value = result.stdout.trim();
  if (value === '1') return true;
  if (value === '0') return false;
  return undefined;
}

/** Applies one consent if the screen shows it: sets its toggle, or presses its button. */
export async function applyConsent(
  ctx: RunnerContext,
  step: StepKind,
  consent: Consent,
  screen: Screen,
): Promise<ConsentResult> {
  const choice = ctx.decisions.get(consent.name);
  if (!choice) return 'absent';
  const accept = choice.decision === 'accept';
  const label = consent.toggle ? findNode(screen.nodes, consent.toggle, 'contains') : undefined;
  const box = label ? checkableFor(screen.nodes, label) : undefined;
  const base = { consent: consent.name, decision: choice.decision };
  if (box) {
    ctx.shown.add(consent.name);
    if (box.checked === accept) {
      await ctx.timeline.record(
        step,
        {
          ...base,
          action: accept ? 'check' : 'uncheck',
          target: describeNode(box),
          outcome: 'done',
          note: accept ? 'already checked' : 'left unchecked',
          ...(screen.foreground ? { screen: screen.foreground } : {}),
        },
        await captureScreen(ctx.browser),
      );
      return 'applied';
    }
    const target = await tap(ctx.browser, screen.nodes, box, ctx.logger);
    await settle();
    const after = await readScreen(ctx.browser);
    const again = consent.toggle ? findNode(after.nodes, consent.toggle, 'contains') : undefined;
    const state = again ? checkableFor(after.nodes, again)?.checked : undefined;
    await ctx.timeline.record(
      step,
      {
        ...base,
        action: accept ? 'check' : 'uncheck',
        target,
        outcome: state === accept ? 'done' : 'failed',
        note:
          state === undefined
            ? 'the toggle left the screen'
            : state
              ? 'now checked'
              : 'now unchecked',
        ...(after.foreground ? { screen: after.foreground } : {}),
      },
      await captureScreen(ctx.browser),
    );
    return 'applied';
  }
  const wanted = accept ? consent.acceptButton : consent.refuseButton;
  const other = accept ? consent.refuseButton : consent.acceptButton;
  const button = wanted ? findNode(screen.nodes, wanted, 'exact') : undefined;
  const clickable = button ? clickTarget(screen.nodes, button) : undefined;
  if (clickable) {
    ctx.shown.add(consent.name);
    const target = await tap(ctx.browser, screen.nodes, clickable, ctx.logger);
    await settle();
    const after = await readScreen(ctx.browser);
    await ctx.timeline.record(
      step,
      {
        ...base,
        action: 'tap',
        target,
        outcome: 'done',
        ...(after.foreground ? { screen: after.foreground } : {}),
      },
      await captureScreen(ctx.browser),
    );
    return 'advanced';
  }
  if (other && findNode(screen.nodes, other, 'exact')) {
    ctx.shown.add(consent.name);
    await ctx.timeline.record(step, {
      ...base,
      action: 'tap',
      outcome: 'skipped',
      note: `the screen asks for it but shows no ${accept ? 'accept' : 'refuse'} button`,
    });
    return 'applied';
  }
  return 'absent';
}

/** The `consent` step: one named consent, on the screen shown now. */
export async function consentStep(ctx: RunnerContext, name: string): Promise<void> {
  const consent = ctx.plan.consents.find((c) => c.name === name);
  if (!consent) return;
  const result = await applyConsent(ctx, 'consent', consent, await readScreen(ctx.browser));
  const choice = ctx.decisions.get(name);
  if (result === 'absent') {
    await ctx.timeline.record('consent', {
      action: 'find',
      consent: name,
      ...(choice ? { decision: choice.decision } : {}),
      outcome: 'skipped',
      note: 'not on this screen',
    });
  }
}

/**
 * The `finish-setup` step: on each setup screen, the consents it shows, then the button that
 * moves on, until the OS reports setup finished. Missing screens are fine; a screen with
 * nothing to press ends the step as skipped, not failed.
 */
export async function finishSetupStep(ctx: RunnerContext, maxScreens: number): Promise<void> {
  const step = 'finish-setup';
  const initially = await setupFinished(ctx);
  const first = await readScreen(ctx.browser);
  await ctx.timeline.record(
    step,
    {
      action: 'observe',
      outcome: initially === true ? 'skipped' : 'done',
      note: initially === true ? 'setup already finished' : 'first screen',
      ...(first.foreground ? { screen: first.foreground } : {}),
    },
    await captureScreen(ctx.browser),
  );
  if (initially === true) return;
  let unchanged = 0;
  for (let screens = 0; screens < maxScreens; screens++) {
    if ((await setupFinished(ctx)) === true) return;
    let screen = await readScreen(ctx.browser);
    let advanced = false;
    for (const consent of ctx.plan.consents) {
      const result = await applyConsent(ctx, step, consent, screen);
      if (result === 'advanced') {
        advanced = true;
        break;
      }
      if (result === 'applied') screen = await readScreen(ctx.browser);
    }
    if (advanced) continue;
    const button = findNode(screen.nodes, ctx.plan.advance, 'exact', (n) => n.enabled);
    const target = button ? clickTarget(screen.nodes, button) : undefined;
    if (!target) {
      await ctx.timeline.record(step, {
        action: 'tap',
        outcome: 'skipped',
        note:
          initially === false
            ? `no button to go on found on ${screen.foreground ?? 'this screen'}`
            : 'no setup wizard shown',
        ...(screen.foreground ? { screen: screen.foreground } : {}),
      });
      return;
    }
    const named = await tap(ctx.browser, screen.nodes, target, ctx.logger);
    await settle();
    const after = await readScreen(ctx.browser);
    unchanged = after.source === screen.source ? unchanged + 1 : 0;
    await ctx.timeline.record(
      step,
      {
        action: 'tap',
        target: named,
        outcome: 'done',
        ...(unchanged > 0 ? { note: 'the screen did not change' } : {}),
        ...(after.foreground ? { screen: after.foreground } : {}),
      },
      await captureScreen(ctx.browser),
    );
    if (unchanged >= 2) break;
  }
  if ((await setupFinished(ctx)) !== true) {
    await ctx.timeline.record(step, {
      action: 'observe',
      outcome: 'skipped',
      note: `setup not finished after ${maxScreens} screens`,
    });
  }
}
