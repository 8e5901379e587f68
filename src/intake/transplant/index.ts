/** Moving a vendor image's pre-installed apps onto a base emulator image of the same API level. */
export { planTransplant, type TransplantVendor, type BaseApps } from './plan.ts';
export { findBaseImages, type BaseSearch } from './bases.ts';
export {
  carryOutTransplant,
  type CarryOutOptions,
  type CarriedOutTransplant,
} from './carry-out.ts';
export {
  transplantSettings,
  detectEmulator,
  BUNDLED_LAB_IMAGES_DIR,
  type TransplantSettings,
} from './environment.ts';
