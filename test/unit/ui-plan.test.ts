import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isCanarytrapError } from '../../src/errors.ts';
import {
  decideConsents,
  loadPlan,
  parseConsentArgument,
  parsePlan,
  planForRun,
  uiJobOptions,
  type ExercisePlanInput,
} from '../../src/ui/index.ts';

const minimal: ExercisePlanInput = {
  version: 1,
  name: 'mini',
  consents: [{ name: 'telemetry', toggle: { resourceIds: ['x:id/telemetry'] } }],
  advance: { texts: ['Next'] },
  steps: [{ do: 'finish-setup' }, { do: 'consent', name: 'telemetry' }],
};

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    return isCanarytrapError(error) ? error.code : 'not-a-canarytrap-error';
  }
  return undefined;
}

void test('the default plan validates: finish-setup, open-apps, wait; every consent accepted by default', async () => {
  const plan = await loadPlan();
  assert.equal(plan.name, 'default');
  assert.deepEqual(
    plan.steps.map((s) => s.do),
    ['finish-setup', 'open-apps', 'wait'],
  );
  const names = plan.consents.map((c) => c.name);
  assert.ok(
    names.includes('experience-programme') && names.includes('cloud-account'),
    names.join(),
  );
  for (const choice of decideConsents(plan)) {
    assert.equal(choice.decision, 'accept', choice.name);
    assert.equal(choice.source, 'plan');
  }
  assert.ok(plan.advance.resourceIds.includes('com.android.provision:id/next'));
  assert.ok(plan.advance.texts.includes('Next'));
});

void test('defaults are filled in and a plan is checked for what would silently do nothing', () => {
  const plan = parsePlan(minimal, 'mini');
  assert.equal(plan.consents[0]?.default, 'accept');
  assert.deepEqual(plan.steps[0], { do: 'finish-setup', maxScreens: 12 });

  const broken: Array<[string, unknown]> = [
    [
      'a step naming an undeclared consent',
      { ...minimal, steps: [{ do: 'consent', name: 'nope' }] },
    ],
    [
      'a consent declared twice',
      { ...minimal, consents: [...minimal.consents!, ...minimal.consents!] },
    ],
    ['a consent with no way to find it', { ...minimal, consents: [{ name: 'telemetry' }] }],
    ['an empty locator', { ...minimal, advance: { resourceIds: [], texts: [] } }],
    ['an unknown step', { ...minimal, steps: [{ do: 'dance' }] }],
    ['a typo in a field', { ...minimal, steps: [{ do: 'wait', secnds: 3 }] }],
    ['no steps', { ...minimal, steps: [] }],
    ['a wrong version', { ...minimal, version: 2 }],
  ];
  for (const [what, value] of broken) {
    assert.equal(
      codeOf(() => parsePlan(value, what)),
      'plan-invalid',
      what,
    );
  }
  assert.match(
    (() => {
      try {
        parsePlan(broken[0]?.[1], 'p.json');
        return '';
      } catch (error) {
        return String((error as Error).message);
      }
    })(),
    /steps\.0\.name: step names consent "nope"/,
  );
});

void test('a job overrides consent decisions; an unknown consent name is refused', () => {
  const plan = parsePlan(minimal, 'mini');
  assert.deepEqual(decideConsents(plan, { telemetry: 'refuse' }), [
    { name: 'telemetry', decision: 'refuse', source: 'job' },
  ]);
  assert.deepEqual(decideConsents(plan, {}), [
    { name: 'telemetry', decision: 'accept', source: 'plan' },
  ]);
  assert.equal(
    codeOf(() => decideConsents(plan, { telemetri: 'refuse' })),
    'consent-unknown',
  );
});

void test('--consent arguments parse as name=accept|refuse only', () => {
  assert.deepEqual(parseConsentArgument('experience-programme=refuse'), [
    'experience-programme',
    'refuse',
  ]);
  assert.deepEqual(parseConsentArgument(' cloud-account=accept '), ['cloud-account', 'accept']);
  for (const bad of ['experience-programme', 'x=maybe', '=refuse', 'X=refuse'])
    assert.equal(
      codeOf(() => parseConsentArgument(bad)),
      'consent-invalid',
      bad,
    );
});

void test('CLI options: a plan file is read and checked, consents checked against it, a rerun keeps its baseline', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'canarytrap-plan-'));
  try {
    const path = join(dir, 'plan.json');
    await writeFile(path, JSON.stringify(minimal));
    const options = await uiJobOptions({ plan: path, consent: ['telemetry=refuse'] }, 'adups-2016');
    assert.equal(options.plan?.name, 'mini');
    assert.deepEqual(options.consents, { telemetry: 'refuse' });
    // A rerun flips one decision over its baseline's and keeps the baseline's plan.
    const rerun = await uiJobOptions({ consent: ['telemetry=accept'] }, 'adups-2016', options);
    assert.equal(rerun.plan?.name, 'mini');
    assert.deepEqual(rerun.consents, { telemetry: 'accept' });
    // Against the default plan, a consent only the custom plan has is refused before queueing.
    await assert.rejects(uiJobOptions({ consent: ['telemetry=refuse'] }, 'adups-2016'), {
      code: 'consent-unknown',
    });
    assert.deepEqual(await uiJobOptions({}, 'adups-2016'), {});
    await writeFile(path, '{ not json');
    await assert.rejects(uiJobOptions({ plan: path }, 'adups-2016'), { code: 'plan-invalid' });
    await assert.rejects(uiJobOptions({ plan: join(dir, 'missing.json') }, 'adups-2016'), {
      code: 'plan-missing',
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('a run follows its job plan, else its image plan, else the default; a label never leaves the plans dir', async () => {
  const root = await mkdtemp(join(tmpdir(), 'canarytrap-plans-'));
  const dir = join(root, 'plans');
  await mkdir(dir);
  try {
    await writeFile(join(dir, 'default.json'), JSON.stringify({ ...minimal, name: 'fallback' }));
    await writeFile(join(dir, 'vendor-x.json'), JSON.stringify({ ...minimal, name: 'vendor-x' }));
    await writeFile(join(root, 'escape.json'), JSON.stringify({ ...minimal, name: 'escape' }));
    assert.equal((await planForRun(undefined, 'vendor-x', dir)).name, 'vendor-x');
    assert.equal((await planForRun(undefined, 'vendor-x.zip', dir)).name, 'vendor-x');
    assert.equal((await planForRun(undefined, 'other-image', dir)).name, 'fallback');
    assert.equal((await planForRun(undefined, '../escape', dir)).name, 'fallback');
    assert.equal((await planForRun({ ...minimal, name: 'own' }, 'vendor-x', dir)).name, 'own');
    await writeFile(join(dir, 'broken.json'), '{}');
    await assert.rejects(planForRun(undefined, 'broken', dir), { code: 'plan-invalid' });
    // The shipped plans: xiaomi-2021 has none of its own and runs the default.
    assert.equal((await planForRun(undefined, 'xiaomi-2021')).name, (await loadPlan()).name);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
