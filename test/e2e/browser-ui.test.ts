import assert from 'node:assert/strict';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { ServerHandle } from '../../src/server/index.ts';
import { startServerEnv, type ServerEnv } from '../support/server-env.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'browser-ui');
const TOKEN = 'browser-test-token-0123456789';

const chromiumPresent = await access(CHROMIUM).then(
  () => true,
  () => false,
);

let env: ServerEnv | undefined;
let server: ServerHandle | undefined;
let browser: Browser | undefined;

before(async () => {
  if (!chromiumPresent) return;
  await mkdir(ARTIFACTS, { recursive: true });
  env = await startServerEnv({ apiToken: TOKEN });
  server = env.server;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 30_000,
  });
});

after(async () => {
  await browser?.close();
  await env?.close();
});

/** Records, inside the page, when the first leak row and the end of the run appeared. */
async function recordArrivals(page: Page): Promise<void> {
  await page.evaluate(() => {
    const marks: { firstLeakBeforeEnd?: boolean } = {};
    (window as unknown as { marks: typeof marks }).marks = marks;
    const main = document.getElementById('watch');
    new MutationObserver(() => {
      if (marks.firstLeakBeforeEnd === undefined && document.querySelector('#leak-rows tr'))
        marks.firstLeakBeforeEnd = !main?.hasAttribute('data-ended');
    }).observe(document.body, { subtree: true, childList: true });
  });
}

async function waitForEnd(page: Page): Promise<string> {
  await page.waitForSelector('#watch[data-ended]', { timeout: 90_000 });
  return (await page.getAttribute('#watch', 'data-ended')) ?? '';
}

test(
  'submit through the page, watch leaks arrive live, read the report, rerun with the fix, open the diff',
  { timeout: 200_000 },
  async (t) => {
    if (!chromiumPresent || !browser || !server) {
      t.skip(`${CHROMIUM} is not installed (npm test's setup installs Debian's chromium)`);
      return;
    }
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));

    // The token given once in the address moves into a cookie and out of the address.
    await page.goto(`${server.url}/?token=${TOKEN}`);
    assert.equal(new URL(page.url()).search, '');
    await page.selectOption('#lab', 'adups-2016');
    await page.screenshot({ path: join(ARTIFACTS, '1-runs.png'), fullPage: true });
    await Promise.all([page.waitForURL(/\/runs\/r[0-9a-z-]+$/), page.click('#submit-run')]);
    const runId = new URL(page.url()).pathname.split('/').at(-1) ?? '';

    // A reload mid-run replays what happened so far.
    await page.waitForSelector('#stage-boot.stage-done', { timeout: 60_000 });
    await page.reload();
    await page.waitForSelector('#stage-intake.stage-done', { timeout: 10_000 });
    await recordArrivals(page);
    assert.equal(await waitForEnd(page), 'completed');
    const marks = await page.evaluate(
      () => (window as unknown as { marks: { firstLeakBeforeEnd?: boolean } }).marks,
    );
    assert.equal(marks.firstLeakBeforeEnd, true, 'leaks appeared while the run was still going');
    const shown = await page.locator('#leak-rows tr').count();
    const report = (await (
      await fetch(`${server.url}/api/runs/${runId}/report`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      })
    ).json()) as { leaks: unknown[] };
    assert.equal(shown, report.leaks.length, 'the watch page shows every leak, none twice');
    for (const stage of ['intake', 'boot', 'correlate', 'report'])
      assert.equal(await page.getAttribute(`#stage-${stage}`, 'data-status'), 'done', stage);
    await page.screenshot({ path: join(ARTIFACTS, '2-watch.png'), fullPage: true });

    await Promise.all([page.waitForURL(/\/report$/), page.click('#report-link')]);
    assert.match((await page.textContent('header.verdict')) ?? '', /leak/i);
    assert.ok((await page.textContent('body'))?.includes('bigdata.adups.com'));
    await page.screenshot({ path: join(ARTIFACTS, '3-report.png'), fullPage: true });

    await page.selectOption('#image', 'adups-2016-fixed');
    await Promise.all([page.waitForURL(/\/runs\/r[0-9a-z-]+$/), page.click('#rerun-button')]);
    const nextId = new URL(page.url()).pathname.split('/').at(-1) ?? '';
    assert.notEqual(nextId, runId);
    assert.equal(await waitForEnd(page), 'completed');
    await page.screenshot({ path: join(ARTIFACTS, '4-rerun.png'), fullPage: true });

    await Promise.all([page.waitForURL(/\/diff\?/), page.click('#diff-link')]);
    const diffText = (await page.textContent('main')) ?? '';
    assert.match(diffText, /fixed/i);
    await page.screenshot({ path: join(ARTIFACTS, '5-diff.png'), fullPage: true });

    await page.goto(`${server.url}/`);
    assert.equal(await page.locator(`a[href="/runs/${nextId}"]`).count(), 1);
    await context.close();
    assert.deepEqual(problems, [], 'no errors in the console');
  },
);
