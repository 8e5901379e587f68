import assert from 'node:assert/strict';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Har } from 'har-format';
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
/** The first lab run of the walk-through, for the export checks after it. */
let firstRunId: string | undefined;

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
      // Names never resolve, so nothing but the loopback server can be reached, whatever a
      // page or a replayed HAR asks for.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
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
    // A short clock advance (the rerun reuses it): the boot-time uploads leak every kind the
    // diff needs, and the suite stays quick.
    await page.click('#run-settings summary');
    await page.fill('#advanceHours', '12');
    await page.fill('#stepHours', '12');
    await page.screenshot({ path: join(ARTIFACTS, '1-runs.png'), fullPage: true });
    await Promise.all([page.waitForURL(/\/runs\/r[0-9a-z-]+$/), page.click('#submit-run')]);
    const runId = new URL(page.url()).pathname.split('/').at(-1) ?? '';
    firstRunId = runId;

    // A reload mid-run replays what happened so far.
    await page.waitForSelector('#stage-boot.stage-done', { timeout: 60_000 });
    await page.reload();
    await page.waitForSelector('#stage-intake.stage-done', { timeout: 10_000 });
    await recordArrivals(page);
    assert.equal(
      await waitForEnd(page),
      'completed',
      (await page.textContent('#run-status')) ?? '',
    );
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
    assert.equal(
      await waitForEnd(page),
      'completed',
      (await page.textContent('#run-status')) ?? '',
    );
    await page.screenshot({ path: join(ARTIFACTS, '4-rerun.png'), fullPage: true });

    await Promise.all([page.waitForURL(/\/diff\?/), page.click('#diff-link')]);
    const diffText = (await page.textContent('main')) ?? '';
    assert.match(diffText, /fixed/i);
    // The fix stops the uploads but keeps the command channel and the silent installer.
    for (const capability of ['remote-commands', 'silent-installs'])
      assert.equal(
        await page.textContent(`#capability-${capability} td:nth-child(2)`),
        'still present',
        capability,
      );
    await page.screenshot({ path: join(ARTIFACTS, '5-diff.png'), fullPage: true });

    await page.goto(`${server.url}/`);
    assert.equal(await page.locator(`a[href="/runs/${nextId}"]`).count(), 1);
    await context.close();
    assert.deepEqual(problems, [], 'no errors in the console');
  },
);

test(
  'the watch page cancels a running run: the stream ends as cancelled and the button goes',
  { timeout: 90_000 },
  async (t) => {
    if (!chromiumPresent || !browser || !server) {
      t.skip(`${CHROMIUM} is not installed (npm test's setup installs Debian's chromium)`);
      return;
    }
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    try {
      const page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      await page.goto(`${server.url}/?token=${TOKEN}`);
      await page.selectOption('#lab', 'adups-2016');
      // Hundreds of device-clock hours: only the cancel ends this run soon.
      await page.click('#run-settings summary');
      await page.fill('#advanceHours', '600');
      await Promise.all([page.waitForURL(/\/runs\/r[0-9a-z-]+$/), page.click('#submit-run')]);
      await page.waitForSelector('#stage-exercise.stage-started', { timeout: 60_000 });
      const clicked = Date.now();
      await Promise.all([page.waitForURL(/\/runs\/r[0-9a-z-]+$/), page.click('#cancel-button')]);
      assert.equal(await waitForEnd(page), 'cancelled');
      const elapsed = Date.now() - clicked;
      assert.ok(elapsed < 10_000, `the page saw the end ${elapsed} ms after the click`);
      assert.equal(await page.textContent('#run-status'), 'cancelled by user');
      assert.equal(await page.locator('#cancel-button').count(), 0, 'nothing left to cancel');
      assert.equal(await page.getAttribute('#stage-exercise', 'data-status'), 'failed');
      await page.screenshot({ path: join(ARTIFACTS, '6-cancelled.png'), fullPage: true });
    } finally {
      await context.close();
    }
    assert.deepEqual(problems, [], 'no errors in the console');
  },
);

test(
  "the run's HAR export replays in Chromium: a recorded request gets its recorded response",
  { timeout: 60_000 },
  async (t) => {
    if (!chromiumPresent || !browser || !server) {
      t.skip(`${CHROMIUM} is not installed (npm test's setup installs Debian's chromium)`);
      return;
    }
    assert.ok(firstRunId, 'the walk-through made no run to export');
    const exported = await fetch(`${server.url}/api/runs/${firstRunId}/export/har`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(exported.status, 200);
    const har = (await exported.json()) as Har;
    const harPath = join(ARTIFACTS, 'run.har');
    await writeFile(harPath, JSON.stringify(har));
    const answered = har.log.entries.filter((e) => e.response.status > 0);
    const entry =
      answered.find((e) => new URL(e.request.url).hostname === 'bigdata.adups.com') ?? answered[0];
    assert.ok(entry, 'the HAR has an answered request');
    const recorded = new URL(entry.request.url);
    const expected = bodyOf(entry.response.content);

    const context = await browser.newContext();
    const reached: string[] = [];
    try {
      context.on('request', (request) => reached.push(request.url()));
      // Routes registered later are asked first: the HAR for the recorded URL, then a blank
      // page on the recorded origin (so the page may read the response), then refuse the rest.
      await context.route('**/*', (route) => route.abort('blockedbyclient'));
      const harness = `${recorded.origin}/canarytrap-har-harness`;
      await context.route(harness, (route) =>
        route.fulfill({
          status: 200,
          contentType: 'text/html',
          body: '<!doctype html><title>replay</title>',
        }),
      );
      await context.routeFromHAR(harPath, { url: entry.request.url, notFound: 'abort' });
      const page = await context.newPage();
      await page.goto(harness);
      const request = entry.request;
      const body = request.postData ? bodyOf(request.postData) : undefined;
      const got = await page.evaluate(
        async ({ url, method, contentType, body64 }) => {
          const bytes =
            body64 === undefined
              ? undefined
              : Uint8Array.from(atob(body64), (c) => c.charCodeAt(0));
          const response = await fetch(url, {
            method,
            ...(bytes
              ? { body: bytes, headers: contentType ? { 'content-type': contentType } : {} }
              : {}),
          });
          const buffer = new Uint8Array(await response.arrayBuffer());
          let binary = '';
          for (const byte of buffer) binary += String.fromCharCode(byte);
          return { status: response.status, body64: btoa(binary) };
        },
        {
          url: request.url,
          method: request.method,
          contentType: request.postData?.mimeType,
          body64: body?.toString('base64'),
        },
      );
      assert.equal(got.status, entry.response.status, 'the recorded status comes back');
      assert.equal(Buffer.from(got.body64, 'base64').toString('hex'), expected.toString('hex'));
      // Anything the HAR does not hold is refused, not fetched: another path, or the recorded
      // URL with a body that was never sent.
      // (No named functions inside evaluate: the test's transpiler would wrap them in a helper
      // the page does not have.)
      const refused = await page.evaluate(
        async ({ other, url }) =>
          Promise.all(
            [fetch(other), fetch(url, { method: 'POST', body: 'never-recorded' })].map((p) =>
              p.then(
                () => 'fetched',
                () => 'refused',
              ),
            ),
          ),
        { other: `${recorded.origin}/not-in-the-har`, url: request.url },
      );
      assert.deepEqual(refused, ['refused', 'refused']);
      assert.ok(
        reached.every((u) => u.startsWith(recorded.origin)),
        reached.join(' '),
      );
    } finally {
      await context.close();
    }
  },
);

function bodyOf(content: { text?: string; encoding?: string }): Buffer {
  return Buffer.from(content.text ?? '', content.encoding === 'base64' ? 'base64' : 'utf8');
}

test(
  'the queue dashboard shows a run that needs KVM waiting for a worker with kvm',
  { timeout: 60_000 },
  async (t) => {
    if (!chromiumPresent || !browser || !server || !env) {
      t.skip(`${CHROMIUM} is not installed (npm test's setup installs Debian's chromium)`);
      return;
    }
    // This world's worker has no Android SDK, so no `kvm`; the image is never booted.
    const image = join(env.config.dataRoot, 'kvm-image');
    await mkdir(image, { recursive: true });
    await writeFile(join(image, 'system.img'), 'not a file system');
    const submitted = await fetch(`${server.url}/api/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ path: image, options: { launcher: 'sdk-emulator' } }),
    });
    assert.equal(submitted.status, 201);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/?token=${TOKEN}`);
      // The board shows a queue's description at the head of the queue's page.
      await page.goto(`${server.url}/admin/queues/queue/analysis-emulator-x86_64`);
      await page
        .getByText(/waiting: no worker with: kvm/)
        .first()
        .waitFor({ timeout: 15_000 });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-waiting-for-kvm.png') });
    } finally {
      await context.close();
    }
  },
);
