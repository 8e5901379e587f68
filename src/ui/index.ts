/** Driving the device's screen: the worker's Appium server, sessions, exercise plans. */
export {
  AppiumServer,
  appiumServerFor,
  type AppiumEndpoint,
  type AppiumServerOptions,
} from './appium-server.ts';
export { checkAppiumInstall } from './appium-home.ts';
export { driveUi, MIN_UI_API_LEVEL, type DriveUiOptions, type DriveUiResult } from './drive.ts';
export {
  DEFAULT_PLAN_PATH,
  decideConsents,
  loadPlan,
  parseConsentArgument,
  parsePlan,
  planForRun,
  planOfJob,
  PLANS_DIR,
  type ConsentChoice,
  type ConsentDecision,
  type ExercisePlan,
  type ExercisePlanInput,
} from './plan.ts';
export { openUiSession, type UiSession } from './session.ts';
export { UI_DIR } from './timeline.ts';
export { collect, uiJobOptions, type UiFlags } from './job-options.ts';
