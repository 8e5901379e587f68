import type { BuildLabImageOptions } from '../../src/image-build/index.ts';

/**
 * The lab-image cache the files of one `npm test` share (CANARYTRAP_LAB_IMAGE_CACHE, set fresh
 * for every suite run by scripts/run-tests.mjs): each image is built once per run, by whichever
 * file needs it first. Unset (a file run on its own through node --test): every build is fresh.
 */
export const sharedLabCache: string | undefined = process.env['CANARYTRAP_LAB_IMAGE_CACHE'];

export function sharedLabBuild(): BuildLabImageOptions {
  return sharedLabCache === undefined ? {} : { cacheDir: sharedLabCache };
}
