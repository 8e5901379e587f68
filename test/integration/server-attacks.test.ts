import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { access, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { pino } from 'pino';
import { chromium, type Browser } from 'playwright-core';
import { startWorker } from '../../src/cli/worker.ts';
import { LANES } from '../../src/queue/lanes.ts';
import {
  openAnalysisQueue,
  runJobCounts,
  type QueueHandle,
} from '../../src/queue/analysis-queue.ts';
import { followRun } from '../../src/queue/follow.ts';
import { runDirFor } from '../../src/run/run-dir.ts';
import { startServer, type ServerHandle } from '../../src/server/index.ts';
import { makeExt4 } from '../fixtures/intake/inputs.ts';
import { startPipelineEnv, type PipelineEnv } from '../support/pipeline-env.ts';

/**
 * The API and pages tried as an attacker would: another page of the same host, the queue
 * dashboard, a forged cookie, a token in an API URL, an upload cut short, symlinks planted in a
 * run directory. Each is refused with its code, and nothing is queued or served.
 */

const TOKEN = 'attack-test-token-0123456789';
const BUILD_PROP =
  'ro.product.model=Attack Tab 7\nro.build.version.sdk=30\nro.product.cpu.abi=x86_64\n';
const CHROMIUM = '/usr/bin/chromium';
const chromiumPresent = await access(CHROMIUM).then(
  () => true,
  () => false,
);

let world: PipelineEnv;
let server: ServerHandle;
/** Started by the one test that runs an analysis, so no other test's run waits for it. */
let worker: ReturnType<typeof startWorker> | undefined;
let queue: QueueHandle;
const logLines: Array<{ level: number; msg: string }> = [];

before(async () => {
  world = await startPipelineEnv();
  await mkdir(world.config.dataRoot, { recursive: true });
  const config = { ...world.config, apiToken: TOKEN };
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim()) logLines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  server = await startServer({
    config,
    logger: pino({ level: 'info' }, sink),
    redisUrl: world.redis.url,
    port: 0,
  });
  queue = openAnalysisQueue(world.redis.url, config.queuePrefix);
});

after(async () => {
  await queue?.close();
  await server?.close();
  await worker?.close();
  await world?.close();
});

async function queued(): Promise<number> {
  const counts = await runJobCounts(queue);
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function call(path: string, init: RequestInit = {}, token: string | null = TOKEN) {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(`${server.url}${path}`, { ...init, headers, redirect: 'manual' });
}

async function codeOf(response: Response): Promise<string> {
  const type = response.headers.get('content-type') ?? '';
  if (type.startsWith('application/json'))
    return ((await response.json()) as { error: { code: string } }).error.code;
  const html = await response.text();
  return /<h1>\d+ ([a-z-]+)<\/h1>/.exec(html)?.[1] ?? `(no code in ${html.slice(0, 80)})`;
}

function errorsLogged(): string[] {
  return logLines.filter((line) => line.level >= 50).map((line) => line.msg);
}

test('the queue dashboard is read-only: its add and retry queue nothing, with or without roots', async () => {
  const before = await queued();
  const lanes = Object.values(LANES).map((lane) => lane.queue);
  for (const lane of lanes) {
    for (const imagePath of ['/root', '/etc/passwd']) {
      const add = await call(`/admin/queues/api/queues/${lane}/add`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'analysis',
          data: { runId: 'r-evil', imagePath, imageLabel: 'evil', options: {} },
        }),
      });
      assert.ok(add.status >= 400, `the dashboard's add on ${lane} answered ${add.status}`);
      await add.body?.cancel();
    }
    const retry = await call(`/admin/queues/api/queues/${lane}/retry/failed`, { method: 'PUT' });
    assert.ok(retry.status >= 400, `the dashboard's retry on ${lane} answered ${retry.status}`);
    await retry.body?.cancel();
  }
  assert.equal(await queued(), before, 'nothing was queued through the dashboard');
  const queues = (await (await call('/admin/queues/api/queues')).json()) as {
    queues: Array<{ name: string; readOnlyMode: boolean }>;
  };
  assert.deepEqual(
    queues.queues.map((q) => [q.name, q.readOnlyMode]),
    lanes.map((lane) => [lane, true]),
  );
});

test('the dashboard page names no other host and says nothing of its framework', async () => {
  const page = await call('/admin/queues');
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<div id="root">/, 'it is the dashboard page');
  assert.doesNotMatch(
    html,
    /(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}\//i,
    'no remote URL in the page',
  );
  assert.equal(page.headers.get('x-powered-by'), null);
  assert.match(page.headers.get('content-security-policy') ?? '', /font-src 'self'/);
  const api = await call('/admin/queues/api/queues');
  assert.equal(api.headers.get('x-powered-by'), null);
  await api.body?.cancel();
});

test('every response carries the security headers as HTTP headers, errors and health too', async () => {
  const paths: Array<[string, string | null]> = [
    ['/', TOKEN],
    ['/api/runs', TOKEN],
    ['/health', null],
    ['/', null],
    ['/api/runs', null],
    ['/runs/r-none', TOKEN],
    ['/admin/queues', TOKEN],
  ];
  for (const [path, token] of paths) {
    const response = await call(path, {}, token);
    await response.body?.cancel();
    const where = `${path} (${token ? 'with' : 'without'} token, ${response.status})`;
    assert.match(
      response.headers.get('content-security-policy') ?? '',
      /frame-ancestors 'none'/,
      where,
    );
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff', where);
    assert.equal(response.headers.get('x-frame-options'), 'DENY', where);
    assert.equal(response.headers.get('referrer-policy'), 'same-origin', where);
    assert.equal(response.headers.get('x-powered-by'), null, where);
  }
});

test('a token is taken from the query string only by a page, once; API URLs refuse it', async () => {
  const api = await call(`/api/runs?token=${TOKEN}`, {}, null);
  assert.equal(api.status, 401);
  assert.equal(await codeOf(api), 'unauthorised');
  const events = await call(`/api/runs/r-x/events?token=${TOKEN}`, {}, null);
  assert.equal(events.status, 401);
  await events.body?.cancel();
  const page = await call(`/?token=${TOKEN}`, {}, null);
  assert.equal(page.status, 303);
  assert.equal(page.headers.get('location'), '/');
  assert.match(page.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
});

test('a malformed or wrong token cookie is a plain 401, never a server error', async () => {
  const logged = errorsLogged().length;
  for (const cookie of [
    'canarytrap_token=%E0%A4%A',
    'canarytrap_token=%',
    'canarytrap_token=wrong',
    'canarytrap_token=',
  ]) {
    const response = await call('/api/runs', { headers: { cookie } }, null);
    assert.equal(response.status, 401, cookie);
    assert.equal(await codeOf(response), 'unauthorised');
  }
  assert.equal(errorsLogged().length, logged, 'nothing logged as an error');
});

test('a one-character API token is refused at start, saying how long one must be', async () => {
  await assert.rejects(
    startServer({
      config: { ...world.config, apiToken: 'x' },
      logger: pino({ level: 'silent' }),
      redisUrl: world.redis.url,
      port: 0,
    }),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, 'config-invalid');
      assert.match(error.message, /CANARYTRAP_API_TOKEN is 1 characters/);
      return true;
    },
  );
});

/** POSTs with the page cookie as a browser would, with whatever Origin the attacker's page has. */
function cookiePost(path: string, origin: string | undefined, body: BodyInit, type?: string) {
  const headers: Record<string, string> = { cookie: `canarytrap_token=${TOKEN}` };
  if (origin) headers['origin'] = origin;
  if (type) headers['content-type'] = type;
  return call(path, { method: 'POST', headers, body }, null);
}

test('cookie-authenticated posts from another origin, or without a CSRF token, are refused', async () => {
  const before = await queued();
  const otherPort = `http://127.0.0.1:${server.port + 1}`;
  const form = () => {
    const data = new FormData();
    data.set('lab', 'clean');
    return data;
  };
  const cases: Array<[string, Response, string]> = [
    ['page form, other port', await cookiePost('/runs', otherPort, form()), 'cross-origin-refused'],
    ['page form, no origin', await cookiePost('/runs', undefined, form()), 'cross-origin-refused'],
    ['page form, origin "null"', await cookiePost('/runs', 'null', form()), 'cross-origin-refused'],
    [
      'page form, same origin, no csrf',
      await cookiePost('/runs', server.url, form()),
      'csrf-token-invalid',
    ],
    [
      'page form, forged csrf',
      await cookiePost(
        '/runs?csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        server.url,
        form(),
      ),
      'csrf-token-invalid',
    ],
    [
      'API upload, other port',
      await cookiePost('/api/runs', otherPort, form()),
      'cross-origin-refused',
    ],
    [
      'cancel, other port',
      await cookiePost('/runs/r-x/cancel', otherPort, '', 'application/x-www-form-urlencoded'),
      'cross-origin-refused',
    ],
    [
      'rerun, same origin, no csrf',
      await cookiePost(
        '/runs/r-x/rerun',
        server.url,
        'image=clean',
        'application/x-www-form-urlencoded',
      ),
      'csrf-token-invalid',
    ],
  ];
  for (const [what, response, code] of cases) {
    assert.equal(response.status, 403, what);
    assert.equal(await codeOf(response), code, what);
  }
  assert.equal(await queued(), before, 'nothing was queued');
});

test(
  'in Chromium: a page on another port cannot post a run or frame the pages; our own form can',
  { timeout: 60_000 },
  async (t) => {
    if (!chromiumPresent) {
      t.skip(`${CHROMIUM} is not installed (npm test's setup installs Debian's chromium)`);
      return;
    }
    const attacker = await attackerSite(server.url);
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
        timeout: 30_000,
      });
      const page = await browser.newPage();
      await page.goto(`${server.url}/?token=${TOKEN}`);
      const before = await queued();

      const forged = page.waitForResponse((r) => r.url().startsWith(`${server.url}/runs`));
      await page.goto(`${attacker.url}/post`);
      const answer = await forged;
      assert.equal(answer.status(), 403, 'the forged post is refused');
      assert.equal(await queued(), before, 'and nothing was queued');

      await page.goto(`${attacker.url}/frame`);
      await page.waitForTimeout(500);
      const framed = page.frames().find((f) => f.url().startsWith(server.url));
      const framedText = framed ? await framed.content().catch(() => '') : '';
      assert.doesNotMatch(framedText, /Submit an image/, 'the page did not render in a frame');

      // The page's own form still posts (its CSRF token and Origin are right).
      await page.goto(`${server.url}/`);
      await page.selectOption('select[name=lab]', 'clean');
      await Promise.all([page.waitForURL(/\/runs\/r/), page.click('#submit-run')]);
      assert.equal(await queued(), before + 1, 'our own form queued one run');
      // No worker runs yet: the run is taken off the queue again, unrun.
      const ownRun = new URL(page.url()).pathname.split('/').pop() ?? '';
      await queue.lanes.any.remove(ownRun);
    } finally {
      await browser?.close();
      await attacker.close();
    }
  },
);

/** A page of another origin (another port of the same host) that posts a form and frames ours. */
async function attackerSite(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const pages: Record<string, string> = {
    '/post': `<!doctype html><form id="f" method="post" action="${target}/runs" enctype="multipart/form-data"><input name="lab" value="clean"></form><script>document.getElementById('f').submit()</script>`,
    '/frame': `<!doctype html><iframe src="${target}/" width="800" height="600"></iframe>`,
  };
  const site: Server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(pages[req.url ?? ''] ?? '');
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  const { port } = site.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => site.close(() => resolve())),
  };
}

test('an upload the client cuts short is a client matter: no error logged, nothing left', async () => {
  const logged = errorsLogged().length;
  const { port } = new URL(server.url);
  await new Promise<void>((resolve) => {
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/api/runs?name=cut.img',
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/octet-stream',
        'content-length': String(4 * 1024 * 1024),
      },
    });
    req.on('error', () => resolve());
    req.write(Buffer.alloc(256 * 1024, 7), () => setTimeout(() => req.destroy(), 200));
    req.on('close', () => resolve());
  });
  const uploads = join(world.config.dataRoot, 'uploads');
  const deadline = Date.now() + 5000;
  while ((await readdir(uploads).catch(() => [])).length > 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(await readdir(uploads).catch(() => []), [], 'the partial upload is removed');
  assert.deepEqual(errorsLogged().slice(logged), [], 'nothing logged as an error');
});

test(
  'an uploaded image is removed once its run is over; the stored image stays',
  { timeout: 90_000 },
  async () => {
    const image = await makeExt4(world.config.dataRoot, 'upload-src.img', {
      'build.prop': BUILD_PROP,
    });
    const bytes = await readFile(image);
    await rm(image);
    const response = await call('/api/runs?name=vendor.img', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    assert.equal(response.status, 201, await response.clone().text());
    const { runId } = (await response.json()) as { runId: string };
    worker = startWorker(
      world.redis.url,
      { ...world.config, apiToken: TOKEN },
      pino({ level: 'silent' }),
      1,
    );
    const outcome = await followRun({
      redisUrl: world.redis.url,
      prefix: world.config.queuePrefix,
      runId,
      onProgress: () => undefined,
      timeoutMs: 80_000,
    });
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome));
    assert.deepEqual(await readdir(join(world.config.dataRoot, 'uploads')), []);
    const stored = createHash('sha256').update(bytes).digest('hex');
    assert.ok(
      (await readdir(join(world.config.dataRoot, 'images'))).includes(stored),
      'the image store keeps the uploaded image',
    );
  },
);

test('symlinks and FIFOs planted in a run directory are not followed or served', async () => {
  const runId = 'r20261205-0000-planted';
  const dir = runDirFor(world.config.dataRoot, runId);
  await mkdir(join(dir, 'ui'), { recursive: true });
  await symlink('/etc/passwd', join(dir, 'events.jsonl'));
  await symlink('/etc/passwd', join(dir, 'report.json'));
  await symlink('/etc/passwd', join(dir, 'flows.jsonl'));
  await symlink('/etc/passwd', join(dir, 'run.json'));
  await symlink('/etc/passwd', join(dir, 'ui', '01-passwd.xml'));
  await execa('mkfifo', [join(dir, 'emulator.pcap')]);
  const linkedRun = 'r20261205-0000-linked';
  await symlink('/etc', runDirFor(world.config.dataRoot, linkedRun));
  const outside = join(world.config.dataRoot, 'outside');
  await mkdir(outside, { recursive: true });
  await writeFile(join(outside, '02-secret.xml'), 'root:x:0:0:secret');
  await mkdir(runDirFor(world.config.dataRoot, 'r20261205-0000-uidir'), { recursive: true });
  await symlink(outside, join(runDirFor(world.config.dataRoot, 'r20261205-0000-uidir'), 'ui'));

  const paths = [
    `/api/runs/${runId}/export/events`,
    `/api/runs/${runId}/export/report`,
    `/api/runs/${runId}/export/har`,
    `/api/runs/${runId}/export/pcap`,
    `/api/runs/${runId}/report`,
    `/runs/${runId}/ui/01-passwd.xml`,
    `/runs/${runId}/report`,
    `/api/runs/${linkedRun}/export/report`,
    `/runs/${linkedRun}/ui/01-passwd.xml`,
    `/runs/r20261205-0000-uidir/ui/02-secret.xml`,
  ];
  for (const path of paths) {
    const response = await call(path);
    const body = await response.text();
    assert.ok(response.status === 404 || response.status === 400, `${path}: ${response.status}`);
    assert.doesNotMatch(body, /root:x:0:0/, `${path} served a file from outside the run`);
  }
  const detail = await call(`/api/runs/${runId}`);
  assert.doesNotMatch(await detail.text(), /root:x:0:0/);
});

test('an image path whose file is text is refused without echoing a byte of it', async () => {
  const secret = join(world.config.dataRoot, 'notes.img');
  await writeFile(secret, 'db_password=hunter2-0123\n'.repeat(20));
  const response = await call('/api/runs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path: secret }),
  });
  assert.equal(response.status, 400);
  const body = await response.text();
  assert.match(body, /image-unrecognised/);
  assert.doesNotMatch(body, /hunter2|db_password|64 62/);
});

test('run options the schema refuses are refused by the API, as by the CLI', async () => {
  const before = await queued();
  for (const options of [
    { perProvider: -5 },
    { perProvider: 2.5 },
    { advanceHours: 'abc' },
    { advanceHours: 1e9 },
    { stepHours: 0 },
    { launcher: 'qemu-of-mine' },
    { unknown: 1 },
  ]) {
    const response = await call('/api/runs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lab: 'clean', options }),
    });
    assert.equal(response.status, 400, JSON.stringify(options));
    assert.equal(await codeOf(response), 'options-invalid', JSON.stringify(options));
  }
  assert.equal(await queued(), before);
});
