/**
 * Image intake: accepting submitted images safely, the content-addressed store, the inventory
 * of pre-installed apps, indicators, the run plan and the transplant plan. Making images is
 * image-build's.
 */
export { intakeImage, type IntakeOptions } from './intake.ts';
export { sniffImage, type ImageKind } from './sniff.ts';
export { ImageStore } from './store.ts';
export type { StoredImage, ImageMetadata, ImageInventory } from './types.ts';
export type { InventoryApp } from './inventory/types.ts';
export {
  loadIndicatorRules,
  evaluateIndicators,
  explainRule,
  DEFAULT_RULES_PATH,
  type Finding,
  type Evidence,
  type IndicatorRules,
  type IndicatorRule,
} from './indicators.ts';
export { planRun, type RunPlan, type EmulatorHost } from './run-plan.ts';
export * from './transplant/index.ts';
