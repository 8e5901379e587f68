import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { runsRoot } from '../../src/run/run-dir.ts';
import { usePipelineWorld } from '../support/pipeline-world.ts';

const world = usePipelineWorld({ concurrency: 1 });

test('explore', { timeout: 200_000 }, async () => {
  const t0 = Date.now();
  const { report, runId } = await world.analyse('bypass-2020');
  console.log('took', Date.now() - t0, runId, world.config.dataRoot);
  await writeFile('/tmp/bp/report.json', JSON.stringify(report, null, 2));
  await cp(join(runsRoot(world.config.dataRoot), runId), '/tmp/bp/run', { recursive: true });
});
