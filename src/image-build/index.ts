/**
 * Making images: lab images (declarative behaviour files) built into real system images, and
 * transplants of a vendor image's apps onto a base image. Reading and storing images is intake's.
 */
export {
  buildLabImage,
  LAB_BUILDER_VERSION,
  type BuildLabImageOptions,
  type BuiltLabImage,
} from './lab-images/build-lab-image.ts';
export {
  buildTransplant,
  TRANSPLANT_BUILDER_VERSION,
  type TransplantBuild,
  type TransplantSource,
} from './transplant/build.ts';
export { allowListXml, allowListPath } from './transplant/allow-list.ts';
export type {
  BaseCandidate,
  BaseCatalogue,
  BaseKind,
  TransplantPlan,
  TransplantMove,
  TransplantSkip,
  TransplantOutcome,
  TransplantBase,
} from './transplant/types.ts';
