import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { test } from 'node:test';
import { diffReports } from '../../src/report/diff.ts';
import { runsRoot } from '../../src/run/run-dir.ts';
import { usePipelineWorld } from '../support/pipeline-world.ts';

// Three full runs (the negative control, the vendor image and its fix): the story a rerun tells.
// It is long, so `npm run test:long` runs it; the single-run pipeline test stays in `npm test`.
const world = usePipelineWorld({ concurrency: 2 });

test(
  'clean reports no leaks; the fixed image fixes SMS, contacts and call log but still leaks the IMEI',
  { timeout: 400_000 },
  async () => {
    // The worker takes two jobs at a time: the control and the vendor image run side by side.
    const [{ report: cleanReport }, base] = await Promise.all([
      world.analyse('clean'),
      world.analyse('adups-2016'),
    ]);
    assert.equal(cleanReport.leaks.length, 0, JSON.stringify(cleanReport.leaks.slice(0, 2)));
    assert.equal(cleanReport.verdict.status, 'no-leaks');
    assert.deepEqual((cleanReport.inventory as { findings: unknown[] }).findings, []);
    assert.ok(
      cleanReport.summary.totals.flows > 0,
      'the clean image sent nothing at all: the negative control proves nothing',
    );

    const next = await world.analyse('adups-2016-fixed', { baselineRunId: base.runId });
    const diff = diffReports(base.report, next.report);
    const status = new Map(diff.kinds.map((k) => [k.kind, k.status]));
    for (const kind of ['sms_body', 'contact_name', 'call_number'])
      assert.equal(status.get(kind as never), 'fixed', `${kind}: ${status.get(kind as never)}`);
    assert.equal(status.get('imei'), 'still');
    const runs = await readdir(runsRoot(world.config.dataRoot));
    assert.ok(runs.includes(next.runId));
  },
);
