/**
 * Image intake: building lab images into real system images, accepting submitted images
 * safely, the content-addressed store, the inventory of pre-installed apps, indicators and
 * the run plan.
 */
export {
  buildLabImage,
  LAB_BUILDER_VERSION,
  type BuildLabImageOptions,
  type BuiltLabImage,
} from './lab-build/build-lab-image.ts';
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
export { DEFAULT_ZIP_LIMITS, type ZipLimits } from './zip-safe.ts';
export { readExt4File } from './ext4.ts';
export {
  openPartition,
  partitionFilesystem,
  type PartitionReader,
  type PartitionEntry,
  type PartitionFilesystem,
} from './partition/reader.ts';
export * from './transplant/index.ts';
