import { join } from 'node:path';
import {
  carryOutTransplant,
  ImageStore,
  intakeImage,
  transplantSettings,
} from '../../src/intake/index.ts';
import { writeJsonAtomic } from '../../src/host/fs.ts';
import { openRunAttempt } from '../../src/run/attempts.ts';
import { RUN_FILES } from '../../src/run/run-dir.ts';
import type { RunContext } from '../context.ts';

/**
 * Checks and stores the image, then opens the run directory: a bad image leaves no run behind.
 * An image planned for a transplant has its vendor apps moved onto the base here, and the built
 * image is what boot starts.
 */
export async function intakeStage(context: RunContext): Promise<string> {
  const store = new ImageStore(context.config.dataRoot);
  const settings = await transplantSettings(context.config);
  const image = await intakeImage(context.data.imagePath, store, {
    logger: context.logger,
    bases: settings.bases,
    ...(settings.emulator ? { emulator: settings.emulator } : {}),
  });
  context.image = image;
  const opened = await openRunAttempt(context.config.dataRoot, context.data.runId, context.attempt);
  context.runDir = opened.dir;
  context.earlierAttempts = opened.earlier;
  const model = image.metadata.model ? ` ${image.metadata.model}` : '';
  let note = `${image.reused ? 'already stored' : 'stored'} ${image.id.slice(0, 12)}${model}, ${image.inventory.apps.length} preinstalled apps`;
  if (image.inventory.runPlan.mode === 'transplant') {
    const carried = await carryOutTransplant(image, store, {
      catalogue: settings.bases,
      labBuildDir: settings.labBuildDir,
      ...(settings.labSharedCache ? { labSharedCache: settings.labSharedCache } : {}),
      logger: context.logger,
      ...(settings.emulator ? { emulator: settings.emulator } : {}),
    });
    context.bootImage = carried.image;
    // The report shows the plan and what came of it beside the submitted image's inventory.
    context.image = { ...image, inventory: { ...image.inventory, transplant: carried.outcome } };
    const base = carried.outcome.base.name;
    context.limitations.push(
      ...carried.outcome.limitations.map((l) => `transplant onto ${base}: ${l}`),
    );
    note += `; ${carried.outcome.moved.length} vendor apps moved onto ${base}`;
  }
  const plan = image.inventory.runPlan;
  // A launcher the user named is tried whatever the plan says; its own error then tells why.
  const forced = context.data.options.launcher !== undefined || context.config.launcher !== 'auto';
  if (plan.mode === 'static-only' && !forced) {
    context.staticOnly = plan.reason;
    context.limitations.push(`not run dynamically: ${plan.reason}`);
    note += '; static findings only (the image cannot run dynamically)';
  }
  await writeJsonAtomic(join(context.runDir, RUN_FILES.inventory), context.image.inventory);
  return note;
}
