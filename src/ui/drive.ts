/**
 * The exercise stage's UI part: start (or reuse) Appium, open a session on the device, run the
 * plan, close the session. A failure here never fails the run: it becomes a limitation, and the
 * run goes on observing what it can.
 */
import type { AdbClient } from '../device/adb-client.ts';
import type { Device } from '../device/device.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { UiReport } from '../report/model.ts';
import type { AppiumServer } from './appium-server.ts';
import { decideConsents, type ConsentDecision, type ExercisePlan } from './plan.ts';
import { runPlan, uiReport } from './runner.ts';
import { openUiSession } from './session.ts';
import { describeStep, UiTimeline } from './timeline.ts';

/** UiAutomator2 (driver 8) runs on Android 8.0 and later only. */
export const MIN_UI_API_LEVEL = 26;

export interface DriveUiOptions {
  device: Device;
  adb: AdbClient;
  appium: AppiumServer;
  plan: ExercisePlan;
  consents?: Readonly<Record<string, ConsentDecision>>;
  runDir: string;
  packages: readonly string[];
  logger: Logger;
  /** Announces a line for the live timeline. */
  announce(message: string): Promise<void>;
  /** Registers cleanup that must also run if the job is torn down midway. */
  onCleanup(name: string, run: () => Promise<void>): void;
}

export interface DriveUiResult {
  /** One sentence for the stage note. */
  summary: string;
  /** Set when UI driving failed or could not run: goes to the report's limitations. */
  limitation?: string;
  /** The UI steps and consent decisions; absent when UI driving did not run. */
  report?: UiReport;
}

export async function driveUi(options: DriveUiOptions): Promise<DriveUiResult> {
  const { device, plan, logger } = options;
  // Decided first: a job naming a consent the plan lacks is a user error, not a UI failure.
  const consents = decideConsents(plan, options.consents);
  const apiLevel = await device.apiLevel();
  if (apiLevel < MIN_UI_API_LEVEL) {
    const limitation = `UI not driven: Appium's UiAutomator2 driver needs Android 8.0 (API ${MIN_UI_API_LEVEL}) or later, and this image is API ${apiLevel}; setup screens, consents and apps were not exercised`;
    return { summary: `UI not driven (API ${apiLevel})`, limitation };
  }
  const timeline = new UiTimeline(options.runDir, (step) => options.announce(describeStep(step)));
  const result = (limitation?: string): DriveUiResult => {
    const report = uiReport(plan, timeline, consents);
    const decisions = consents.map(
      (c) => `${c.name} ${c.decision === 'accept' ? 'accepted' : 'refused'}`,
    );
    const summary = `plan ${plan.name}: ${timeline.steps.length} UI steps${decisions.length > 0 ? ` (${decisions.join(', ')})` : ''}`;
    return {
      summary: limitation ? `${summary}; UI driving failed` : summary,
      report,
      ...(limitation ? { limitation } : {}),
    };
  };
  let session: Awaited<ReturnType<typeof openUiSession>> | undefined;
  try {
    const endpoint = await options.appium.endpoint();
    session = await openUiSession({ endpoint, device, adb: options.adb, logger });
    const opened = session;
    options.onCleanup('ui-session', () => opened.close());
    await runPlan({
      browser: session.browser,
      device,
      plan,
      consents,
      timeline,
      packages: options.packages,
      logger,
    });
    return result();
  } catch (error) {
    logger.warn({ err: error }, 'UI driving failed');
    const done = timeline.steps.length;
    return result(
      `UI driving failed after ${done} step${done === 1 ? '' : 's'}, so later setup screens, consents and apps were not exercised: ${describeError(error)}`,
    );
  } finally {
    await session?.close();
  }
}
