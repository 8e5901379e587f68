import { CanarytrapError } from '../../src/errors.ts';
import { advanceDeviceTime } from '../../src/triggers/advance.ts';
import { waitForQuiet } from '../../src/capture/quiet.ts';
import type { RunContext } from '../context.ts';

/** Makes the firmware's timers fire: jobs forced, doze cycled, the clock moved days ahead. */
export async function exerciseStage(context: RunContext): Promise<string> {
  const { device, capture, image } = context;
  if (!device || !capture || !image)
    throw new CanarytrapError('stage-order', 'exercise needs boot first');
  const packages = new Set(image.inventory.apps.map((app) => app.package));
  const report = await advanceDeviceTime(device, {
    packages,
    horizonHours: context.data.options.advanceHours ?? 80,
    stepHours: context.data.options.stepHours ?? 6,
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
  return `device clock advanced ${report.advancedHours.toFixed(0)} h in ${report.jumps} jumps; ${report.alarmsDue} alarms due, ${report.jobsForced} jobs forced; ${capture.flows().length} flows captured`;
}
