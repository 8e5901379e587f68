import type { Device } from '../device/device.ts';
import type { Logger } from '../log.ts';
import type { ConsentChoice, ExercisePlan } from './plan.ts';
import type { UiTimeline } from './timeline.ts';

/** What every step of a plan works with. */
export interface RunnerContext {
  browser: WebdriverIO.Browser;
  /** The same device over the worker's own adb, for what the OS states (settings). */
  device: Device;
  plan: ExercisePlan;
  decisions: Map<string, ConsentChoice>;
  timeline: UiTimeline;
  /** Pre-installed packages, the candidates of `open-apps`. */
  packages: readonly string[];
  /** Consents some screen asked for. */
  shown: Set<string>;
  logger: Logger;
}
