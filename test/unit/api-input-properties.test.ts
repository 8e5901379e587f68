import assert from 'node:assert/strict';
import { mkdir, realpath, symlink, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { LAUNCHER_NAMES } from '../../src/config.ts';
import { isCanarytrapError } from '../../src/errors.ts';
import {
  numberFromText,
  OPTION_LIMITS,
  parseAnalysisOptions,
} from '../../src/queue/job-options.ts';
import { openRunFile } from '../../src/run/run-files.ts';
import { ApiError } from '../../src/server/http-kit.ts';
import { assertInsideAllowedRoots, parseJsonSubmission } from '../../src/server/submission.ts';
import { safeUploadName } from '../../src/server/upload.ts';
import { withTempDir } from '../fixtures/correlate/temp-dir.ts';

/**
 * Property-based tests of what the API and the CLI take from outside: the job-option schema, a
 * submission's JSON body, an image path against the allowed roots, a file path inside a run
 * directory and an upload's name. Each property is tried on a few thousand generated inputs
 * (fast-check, fixed seed so a failure repeats), the hostile ones included.
 */

const SEED = 14;
const runs = (numRuns: number) => ({ seed: SEED, numRuns });

const inRange = (value: unknown, name: keyof typeof OPTION_LIMITS) =>
  value === undefined ||
  (Number.isInteger(value) &&
    (value as number) >= OPTION_LIMITS[name].min &&
    (value as number) <= OPTION_LIMITS[name].max);

/** Options every door must accept: each field in range. */
const validOptions = fc.record(
  {
    perProvider: fc.integer(OPTION_LIMITS.perProvider),
    advanceHours: fc.integer(OPTION_LIMITS.advanceHours),
    stepHours: fc.integer(OPTION_LIMITS.stepHours),
    launcher: fc.constantFrom(...LAUNCHER_NAMES),
    uncontained: fc.boolean(),
    consents: fc.dictionary(
      fc.string({ minLength: 1, maxLength: 20 }),
      fc.constantFrom('accept', 'refuse'),
    ),
  },
  { requiredKeys: [] },
);

/** Values a hostile client sends for a number: negatives, fractions, NaN, huge, text, objects. */
const oddNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(-5, 0, 1001, 10_001, 1.5, Number.NaN, Infinity, -Infinity, 2 ** 53),
  fc.string(),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.integer(), { maxLength: 2 }),
);

test('job options: every in-range option set is accepted as given', () => {
  fc.assert(
    fc.property(validOptions, (options) => {
      const parsed = parseAnalysisOptions(options);
      for (const key of ['perProvider', 'advanceHours', 'stepHours', 'launcher'] as const) {
        assert.equal(parsed[key], options[key]);
      }
      assert.equal(parsed.uncontained ?? false, options.uncontained ?? false);
      assert.deepEqual(
        Object.entries(parsed.consents ?? {}),
        Object.entries(options.consents ?? {}),
      );
    }),
    runs(2000),
  );
});

test('job options: a hostile value is refused with options-invalid or kept in range, never anything else', () => {
  const hostile = fc.record(
    {
      perProvider: oddNumber,
      advanceHours: oddNumber,
      stepHours: oddNumber,
      launcher: fc.oneof(fc.string(), fc.constantFrom(...LAUNCHER_NAMES)),
      uncontained: fc.oneof(fc.boolean(), fc.string(), fc.integer()),
      extra: fc.anything(),
    },
    { requiredKeys: [] },
  );
  let refused = 0;
  fc.assert(
    fc.property(fc.oneof(hostile, fc.anything()), (value) => {
      let parsed;
      try {
        parsed = parseAnalysisOptions(value);
      } catch (error) {
        assert.ok(isCanarytrapError(error), `a coded error, not ${String(error)}`);
        assert.equal(error.code, 'options-invalid');
        refused += 1;
        return;
      }
      assert.ok(inRange(parsed.perProvider, 'perProvider'), `perProvider ${parsed.perProvider}`);
      assert.ok(inRange(parsed.advanceHours, 'advanceHours'));
      assert.ok(inRange(parsed.stepHours, 'stepHours'));
      assert.ok(parsed.launcher === undefined || LAUNCHER_NAMES.includes(parsed.launcher));
      assert.ok(parsed.uncontained === undefined || parsed.uncontained === true);
    }),
    runs(5000),
  );
  // The generator is hostile: most of what it makes must be refused, or the schema is too lax.
  assert.ok(refused > 2500, `refused ${refused} of 5000`);
});

test('job options: a number typed as text counts only as a plain decimal', () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.string(), fc.integer().map(String), fc.double().map(String)),
      (text) => {
        const value = numberFromText(text);
        if (Number.isNaN(value)) {
          assert.doesNotMatch(text.trim(), /^[+-]?\d+$/);
          return;
        }
        assert.match(text.trim(), /^[+-]?(\d+(\.\d*)?|\.\d+)$/);
        assert.equal(value, Number(text.trim()));
      },
    ),
    runs(3000),
  );
  for (const text of ['abc', '', ' ', '0x10', '1e3', '-', 'Infinity', '5abc']) {
    assert.ok(Number.isNaN(numberFromText(text)), `"${text}" is not a number`);
  }
  assert.equal(numberFromText(' 42 '), 42);
});

test('submission body: any JSON is a submission or a 4xx refusal', () => {
  const bodyLike = fc.record(
    {
      lab: fc.oneof(fc.string(), fc.anything()),
      path: fc.oneof(fc.string(), fc.anything()),
      baselineRunId: fc.oneof(fc.string(), fc.anything()),
      options: fc.oneof(validOptions, fc.anything()),
    },
    { requiredKeys: [] },
  );
  let accepted = 0;
  fc.assert(
    fc.property(fc.oneof(bodyLike, fc.jsonValue()), (body) => {
      try {
        const submission = parseJsonSubmission(body);
        accepted += 1;
        const source = submission.source as { lab?: unknown; path?: unknown };
        assert.ok(typeof (source.lab ?? source.path) === 'string');
      } catch (error) {
        assert.ok(isCanarytrapError(error), `a coded error, not ${String(error)}`);
        if (error instanceof ApiError) assert.ok(error.status >= 400 && error.status < 500);
        else assert.equal(error.code, 'options-invalid');
      }
    }),
    runs(5000),
  );
  assert.ok(accepted > 0, 'some generated bodies are valid submissions');
});

/** Path segments an attacker would put together: climbs, dots, links out, odd names. */
const segment = fc.oneof(
  fc.constantFrom('..', '.', '', 'images', 'image.img', 'out-link', 'escape', 'etc', 'passwd'),
  fc.string({ minLength: 1, maxLength: 8 }).filter((name) => !name.includes('\0')),
);

test('allowed roots: an image path is either refused or really inside a root', async () => {
  await withTempDir('ct-roots-prop-', async (dir) => {
    const root = join(dir, 'root');
    const outside = join(dir, 'outside');
    await mkdir(join(root, 'images'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(root, 'images', 'image.img'), 'image');
    await writeFile(join(outside, 'passwd'), 'secret');
    await symlink(outside, join(root, 'out-link'));
    await symlink(join(outside, 'passwd'), join(root, 'images', 'escape'));
    const realRoot = await realpath(root);
    let allowed = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(segment, { maxLength: 6 }),
        fc.constantFrom(root, dir, '/', ''),
        async (segments, base) => {
          const path = [base, ...segments].join('/');
          try {
            const real = await assertInsideAllowedRoots(path, [root]);
            allowed += 1;
            const rel = relative(realRoot, real);
            assert.ok(!rel.startsWith('..') && !isAbsolute(rel), `${path} → ${real}`);
          } catch (error) {
            assert.ok(error instanceof ApiError, `an API error, not ${String(error)}`);
            assert.ok(
              ['path-not-absolute', 'path-not-allowed', 'image-not-found'].includes(error.code),
              error.code,
            );
          }
        },
      ),
      runs(3000),
    );
    assert.ok(allowed > 0, 'some generated paths are inside the root');
    await assert.rejects(assertInsideAllowedRoots(join(root, 'out-link', 'passwd'), [root]), {
      code: 'path-not-allowed',
    });
  });
});

test('run files: a relative path serves a regular file inside the run directory or nothing', async () => {
  await withTempDir('ct-runfile-prop-', async (dataRoot) => {
    const runId = 'r20261205-1200-abcdef';
    const runDir = join(dataRoot, 'runs', runId);
    const outside = join(dataRoot, 'outside');
    await mkdir(join(runDir, 'images'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(runDir, 'report.json'), '{}');
    await writeFile(join(runDir, 'images', 'image.img'), 'x');
    await writeFile(join(outside, 'passwd'), 'secret');
    await symlink(outside, join(runDir, 'out-link'));
    await symlink(join(outside, 'passwd'), join(runDir, 'escape'));
    const realRun = await realpath(runDir);
    let served = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(segment, fc.constant('report.json')), { minLength: 1, maxLength: 5 }),
        async (segments) => {
          const file = await openRunFile(dataRoot, runId, segments.join('/'));
          if (!file) return;
          await using opened = file;
          served += 1;
          const text = await opened.handle.readFile('utf8');
          assert.notEqual(text, 'secret', `${segments.join('/')} served a file outside the run`);
          const real = await realpath(`/proc/self/fd/${opened.handle.fd}`);
          const rel = relative(realRun, real);
          assert.ok(rel && !rel.startsWith('..') && !isAbsolute(rel), `${segments.join('/')}`);
        },
      ),
      runs(3000),
    );
    assert.ok(served > 0, 'some generated paths name a run file');
    assert.equal(await openRunFile(dataRoot, runId, 'escape'), undefined);
    assert.equal(await openRunFile(dataRoot, runId, 'out-link/passwd'), undefined);
  });
});

test('upload names: whatever the client sends, the stored name stays one plain file name', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc.string({ unit: 'binary' }),
        fc.constantFrom('../../etc/passwd', '.bashrc', '..', '/', 'a/b', 'x'.repeat(500)),
        fc.constant(undefined),
      ),
      (name) => {
        const stored = safeUploadName(name);
        assert.match(stored, /^[A-Za-z0-9-][A-Za-z0-9._-]{0,99}$/);
        assert.ok(stored !== '.' && stored !== '..');
      },
    ),
    runs(5000),
  );
});
