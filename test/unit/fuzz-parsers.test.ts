import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findingText, reportLine } from '../support/fuzz-harness.ts';
import { runFuzzCampaign } from '../support/fuzz-campaign.ts';
import { FUZZ_TARGET_NAMES, NOT_YET_FUZZED } from '../support/fuzz-targets.ts';

/**
 * Issue 14, fuzzing: every binary parser fed 10,000 mutated inputs with a fixed seed (the same
 * inputs on every machine); each must end in a result or a coded error, within 2 s and without
 * unbounded memory. `npm run fuzz` runs the same targets longer with a random seed.
 */

const RUNS = 10_000;
const SEED = 14;

test(`fuzzing the binary parsers: ${RUNS} inputs each, seed ${SEED}`, async (t) => {
  console.log(`fuzz seed ${SEED} (fast-check), ${RUNS} inputs per parser`);
  const started = performance.now();
  const seen: string[] = [];
  for await (const report of runFuzzCampaign({ runs: RUNS, seed: SEED })) {
    seen.push(report.name);
    console.log(reportLine(report));
    await t.test(`fuzz ${report.name}`, () => {
      assert.equal(report.finding, undefined, findingText(report));
      assert.equal(report.runs, RUNS);
      assert.ok(
        report.results > 0,
        'no mutated input parsed: the seeds are not reaching past the first check',
      );
    });
  }
  for (const [name, why] of Object.entries(NOT_YET_FUZZED)) {
    console.log(`fuzz ${name}: skipped, ${why}`);
    await t.test(`fuzz ${name}`, { skip: why }, () => undefined);
  }
  console.log(`fuzz: all parsers in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  assert.deepEqual(seen.sort(), [...FUZZ_TARGET_NAMES].sort());
});
