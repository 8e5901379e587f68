import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { startWorker } from '../../src/cli/worker.ts';
import { silentLogger } from '../../src/log.ts';
import { makeExt4 } from '../fixtures/intake/inputs.ts';
import { CLI, REPO_ROOT, runCli, TERMINAL_ACTIVE } from '../support/cli-run.ts';
import { startPipelineEnv, type PipelineEnv } from '../support/pipeline-env.ts';
import { startTmuxTerminal } from '../support/tmux-terminal.ts';

/**
 * Issue 14, acceptance: a model name that is an escape sequence (retitle the terminal, then red
 * bold) is printed harmlessly by `submit --wait` in a real terminal, and by `inspect`.
 */

const MODEL = '\u001b]0;pwned\u0007\u001b[31;1mRED';
/** How the CLI shows it (terminal-text.ts). */
const SHOWN = '\\x1b]0;pwned\\x07\\x1b[31;1mRED';
const TITLE = 'canarytrap-test-title';
/** The terminal's screen as captured, kept for a person to look at (as the browser tests keep PNGs). */
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'terminal-escapes');

let world: PipelineEnv;
let work: string;
let image: string;
let worker: ReturnType<typeof startWorker>;
const hasTmux = await execa('tmux', ['-V'], { reject: false }).then((r) => r.exitCode === 0);

before(async () => {
  world = await startPipelineEnv();
  await mkdir(world.config.dataRoot, { recursive: true });
  work = await mkdtemp(join(tmpdir(), 'terminal-escapes-'));
  // No kernel and no SDK level: the run is static-only, so it ends in seconds without a device,
  // and its intake stage names the model in the progress line.
  image = await makeExt4(work, 'esc-model.img', {
    'build.prop': `ro.build.fingerprint=test/esc/esc:6.0/T/1:user/release-keys\nro.product.manufacturer=Evil\nro.product.model=${MODEL}\n`,
  });
  worker = startWorker(world.redis.url, world.config, silentLogger(), 1);
});

after(async () => {
  await worker?.close();
  await world?.close();
  await rm(work, { recursive: true, force: true });
});

test(
  'submit --wait in tmux shows the ESC-laden model escaped and leaves the title and colours alone',
  { timeout: 90_000, skip: hasTmux ? false : 'tmux is not installed' },
  async () => {
    await using terminal = await startTmuxTerminal({
      dir: work,
      argv: [process.execPath, CLI, 'submit', '--wait', image],
      cwd: REPO_ROOT,
      env: { ...world.env, PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    });
    await terminal.setTitle(TITLE);
    assert.equal(await terminal.title(), TITLE);
    await terminal.start();
    const exit = await terminal.waitForExit(60_000);
    const plain = await terminal.capture();
    const coloured = await terminal.capture({ escapes: true });
    const title = await terminal.title();
    await mkdir(ARTIFACTS, { recursive: true });
    await writeFile(
      join(ARTIFACTS, 'submit-wait.screen.txt'),
      `# tmux capture-pane after \`canarytrap submit --wait\`; pane title: ${JSON.stringify(title)}\n${plain}`,
    );
    await writeFile(join(ARTIFACTS, 'submit-wait.screen.ansi'), coloured);
    assert.equal(exit, 0, plain);
    assert.equal(title, TITLE, 'the model retitled the terminal');
    // The intake stage's line names the model, escaped.
    const intake = plain.split('\n').find((line) => line.startsWith('[1/8] intake done: '));
    assert.ok(intake?.includes(SHOWN), plain);
    assert.match(
      intake ?? '',
      /^\[1\/8\] intake done: stored [0-9a-f]{12} \\x1b\]0;pwned\\x07\\x1b\[31;1mRED, /,
    );
    assert.match(plain, /Verdict: incomplete/);
    // With -e, tmux writes the attributes each cell has: the model set none.
    /* eslint-disable no-control-regex */
    assert.doesNotMatch(coloured, /\u001b\[(?:[0-9;]*;)?31(?:;[0-9;]*)?m/, 'red was set');
    assert.doesNotMatch(coloured, /\u001b\[(?:[0-9;]*;)?1(?:;[0-9;]*)?m/, 'bold was set');
    /* eslint-enable no-control-regex */
  },
);

test('inspect prints the ESC-laden model escaped, and its JSON keeps it exactly', async () => {
  const [human, json] = await Promise.all([
    runCli(['inspect', image], world.env),
    runCli(['inspect', '--json', image], world.env),
  ]);
  assert.equal(human.exitCode, 0, human.stderr);
  assert.match(human.stdout, /^ {2}device {10}Evil \\x1b\]0;pwned\\x07\\x1b\[31;1mRED /m);
  assert.doesNotMatch(human.stdout, TERMINAL_ACTIVE);
  assert.equal(json.exitCode, 0, json.stderr);
  assert.doesNotMatch(json.stdout, TERMINAL_ACTIVE);
  const parsed = JSON.parse(json.stdout) as { metadata: { model?: string } };
  assert.equal(parsed.metadata.model, MODEL);
});
