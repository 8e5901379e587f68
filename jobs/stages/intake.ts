import { join } from 'node:path';
import { ImageStore, intakeImage } from '../../src/intake/index.ts';
import { createRunDir, RUN_FILES, writeJsonAtomic } from '../../src/run/run-dir.ts';
import type { RunContext } from '../context.ts';

/** Checks and stores the image, then opens the run directory: a bad image leaves no run behind. */
export async function intakeStage(context: RunContext): Promise<string> {
  const image = await intakeImage(context.data.imagePath, new ImageStore(context.config.dataRoot), {
    logger: context.logger,
  });
  context.image = image;
  context.runDir = await createRunDir(context.config.dataRoot, context.data.runId);
  await writeJsonAtomic(join(context.runDir, RUN_FILES.inventory), image.inventory);
  const model = image.metadata.model ? ` ${image.metadata.model}` : '';
  return `${image.reused ? 'already stored' : 'stored'} ${image.id.slice(0, 12)}${model}, ${image.inventory.apps.length} preinstalled apps`;
}
