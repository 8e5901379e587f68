import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../config.ts';

/** Where the API keeps an uploaded image until its run is over. */
export function uploadsDir(config: Pick<Config, 'dataRoot'>): string {
  return join(config.dataRoot, 'uploads');
}

/**
 * Removes the image a run was given when it is an upload: the image store keeps what the
 * analysis needs, and a second copy of a suspect firmware serves no one. Called once the run
 * will not be tried again (done, cancelled, or failed for good), because a retry reads the
 * upload again. Anything that is not directly in the uploads folder is the user's and stays.
 */
export async function removeUploadOf(
  config: Pick<Config, 'dataRoot'>,
  imagePath: string,
): Promise<boolean> {
  if (dirname(resolve(imagePath)) !== resolve(uploadsDir(config))) return false;
  await rm(imagePath, { force: true });
  return true;
}
