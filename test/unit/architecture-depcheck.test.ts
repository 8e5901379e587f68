import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

/**
 * Runs the check as `npm run depcheck` does (its `err` output sets the exit code), with the same
 * config, on `paths` under `cwd`; `json` output lists the violations one by one.
 */
async function depcheck(cwd: string, paths: string[], outputType: 'err' | 'json') {
  return execa(DEPCRUISE, [...paths, '--config', CONFIG, '--output-type', outputType], {
    cwd,
    reject: false,
    timeout: 120_000,
  });
}

function violationsIn(json: string): string[] {
  const result = JSON.parse(json) as { summary: { violations: Violation[] } };
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
}

test('the tree has no cycle, no upward import and no production import of the lab', async () => {
  const result = await depcheck(ROOT, ['src', 'jobs', 'bin', 'hooks/src'], 'err');
  assert.equal(result.exitCode, 0, result.stdout);
  assert.match(result.stdout, /no dependency violations found/);
});

test('the check fails on a cycle, an upward import and a production import of the lab', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'architecture-depcheck-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const files: Record<string, string> = {
    'tsconfig.json': JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        allowImportingTsExtensions: true,
        noEmit: true,
      },
    }),
    // A file-level cycle on the ground floor.
    'src/host/a.ts': "import { b } from './b.ts';\nexport const a = (): number => b + 1;\n",
    'src/host/b.ts': "import { a } from './a.ts';\nexport const b = 1;\nexport const c = a;\n",
    // device/ sits below cli/: this import climbs.
    'src/cli/main.ts': 'export const command = "run";\n',
    'src/device/adb.ts': "import { command } from '../cli/main.ts';\nexport const adb = command;\n",
    // Production code reaching into the lab phone.
    'src/lab/phone.ts': 'export const phone = 1;\n',
    'src/queue/job.ts': "import { phone } from '../lab/phone.ts';\nexport const job = phone;\n",
    // The lab using something above the ground floors.
    'src/lab/use.ts': "import { adb } from '../device/adb.ts';\nexport const use = adb;\n",
  };
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  const failed = await depcheck(dir, ['src'], 'err');
  assert.notEqual(failed.exitCode, 0, failed.stdout);
  const found = new Set(violationsIn((await depcheck(dir, ['src'], 'json')).stdout));
  assert.ok(found.has('no-circular: src/host/a.ts → src/host/b.ts'), [...found].join('\n'));
  assert.ok(found.has('upward-from-device: src/device/adb.ts → src/cli/main.ts'));
  assert.ok(found.has('production-imports-lab: src/queue/job.ts → src/lab/phone.ts'));
  assert.ok(found.has('lab-imports-above-ground: src/lab/use.ts → src/device/adb.ts'));
});
