import { ANALYSIS_DEFAULTS } from '../../src/config.ts';
import { CanarytrapError } from '../../src/errors.ts';
import { advanceDeviceTime } from '../../src/triggers/advance.ts';
import { waitForQuiet } from '../../src/capture/quiet.ts';
import { appiumServerFor, driveUi, planForRun } from '../../src/ui/index.ts';
import type { RunContext } from '../context.ts';

/**
 * Drives the UI (setup wizard, consents, apps) as the plan says, then makes the firmware's
 * timers fire: jobs forced, doze cycled, the clock moved days ahead.
 */
export async function exerciseStage(context: RunContext): Promise<string> {
  const { device, capture, image, runDir } = context;
  if (!device || !capture || !image || !runDir)
    throw new CanarytrapError('stage-order', 'exercise needs boot first');
  const packages = new Set(image.inventory.apps.map((app) => app.package));
  const ui = await driveUi({
    device,
    adb: context.adb,
    appium: context.appium ?? runAppium(context),
    plan: await planForRun(context.data.options.plan, context.data.imageLabel),
    ...(context.data.options.consents ? { consents: context.data.options.consents } : {}),
    runDir,
    packages: [...packages],
    logger: context.logger,
    announce: (message) =>
      context.publish({ type: 'note', stage: 'exercise', message, at: Date.now() }),
    onCleanup: (name, run) => context.teardown.add(name, run),
  });
  if (ui.limitation) context.limitations.push(ui.limitation);
  if (ui.report) context.ui = ui.report;
  const report = await advanceDeviceTime(device, {
    packages,
    horizonHours: context.data.options.advanceHours ?? ANALYSIS_DEFAULTS.advanceHours,
    stepHours: context.data.options.stepHours ?? ANALYSIS_DEFAULTS.stepHours,
    settle: () => waitForQuiet(capture, { quietMs: 1_200, maxMs: 15_000 }),
    onStep: (message) =>
      context.publish({
        type: 'note',
        stage: 'exercise',
        message: `${message}, ${capture.flows().length} flows so far`,
        at: Date.now(),
      }),
    logger: context.logger,
  });
  return `${ui.summary}; device clock advanced ${report.advancedHours.toFixed(0)} h in ${report.jumps} jumps; ${report.alarmsDue} alarms due, ${report.jobsForced} jobs forced; ${capture.flows().length} flows captured`;
}

/** A run outside a worker (no host server) gets an Appium of its own, stopped at teardown. */
function runAppium(context: RunContext): ReturnType<typeof appiumServerFor> {
  const appium = appiumServerFor(context.config, context.logger);
  context.teardown.add('appium', () => appium.stop());
  return appium;
}
