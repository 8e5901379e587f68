import { join } from 'node:path';
import { plantCanaries } from '../../src/canary/plant.ts';
import { CanarytrapError } from '../../src/errors.ts';
import { writeJsonAtomic } from '../../src/host/fs.ts';
import { RUN_FILES } from '../../src/run/run-dir.ts';
import type { RunContext } from '../context.ts';

/** Plants the run's canaries on the device and reads each back; writes the canary set file. */
export async function plantStage(context: RunContext): Promise<string> {
  const { device, canaries, runDir } = context;
  if (!device || !canaries || !runDir)
    throw new CanarytrapError('stage-order', 'plant needs boot first');
  await writeJsonAtomic(join(runDir, RUN_FILES.canaries), canaries.set);
  await writeJsonAtomic(join(runDir, RUN_FILES.plan), canaries.plan);
  const report = await plantCanaries(device, canaries.plan, context.logger);
  const kinds = new Set(canaries.set.canaries.map((c) => c.kind));
  return `${canaries.set.canaries.length} canaries of ${kinds.size} kinds planted and read back (${report.verified.join('; ')})`;
}
