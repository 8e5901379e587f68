import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import {
  openAnalysisQueue,
  runJobCounts,
  type QueueHandle,
} from '../../src/queue/analysis-queue.ts';
import { followRun } from '../../src/queue/follow.ts';
import { STAGES } from '../../src/queue/names.ts';
import { buildReport } from '../../src/report/build.ts';
import { BIGDATA, flow, input, leak, T0 } from '../support/report-fixtures.ts';
import { runDirFor } from '../../src/run/run-dir.ts';
import type { ServerHandle } from '../../src/server/index.ts';
import type { PipelineEnv } from '../support/pipeline-env.ts';
import { startServerEnv, type ServerEnv } from '../support/server-env.ts';
import { loadStixValidator, type StixValidator } from '../support/stix-schemas.ts';
import { writeCapture } from '../fixtures/correlate/pcap-writer.ts';

const require = createRequire(import.meta.url);
const harValidator = require('har-validator') as { har(data: unknown): Promise<unknown> };

const TOKEN = 'test-token-0123456789';
const QUICK = { advanceHours: 12, stepHours: 12 };
const UPLOAD_LIMIT = 64 * 1024;

let env: ServerEnv;
let world: PipelineEnv;
let server: ServerHandle;
let queue: QueueHandle;
let stix: StixValidator;

before(async () => {
  stix = await loadStixValidator();
  env = await startServerEnv({ apiToken: TOKEN, uploadLimitBytes: UPLOAD_LIMIT });
  ({ world, server } = env);
  queue = openAnalysisQueue(world.redis.url, env.config.queuePrefix);
});

after(async () => {
  await queue?.close();
  await env?.close();
});

function api(
  path: string,
  init: RequestInit = {},
  token: string | null = TOKEN,
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(`${server.url}${path}`, { ...init, headers, redirect: 'manual' });
}

function postJson(path: string, body: unknown): Promise<Response> {
  return api(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function queued(): Promise<number> {
  const counts = await runJobCounts(queue);
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } };
  assert.equal(typeof body.error.code, 'string');
  assert.ok(body.error.message.length > 0);
  return body.error;
}

async function waitFor(runId: string): Promise<void> {
  const outcome = await followRun({
    redisUrl: world.redis.url,
    prefix: world.config.queuePrefix,
    runId,
    onProgress: () => undefined,
    timeoutMs: 80_000,
  });
  assert.equal(outcome.status, 'completed', outcome.status === 'failed' ? outcome.reason : '');
}

test('health needs no token; every other route answers 401 without one', async () => {
  const health = await api('/health', {}, null);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });
  const routes: Array<[string, string]> = [
    ['GET', '/'],
    ['GET', '/api/runs'],
    ['POST', '/api/runs'],
    ['GET', '/api/runs/r1'],
    ['GET', '/api/runs/r1/report'],
    ['GET', '/api/runs/r1/events'],
    ['POST', '/api/runs/r1/cancel'],
    ['POST', '/api/runs/r1/rerun'],
    ['GET', '/api/runs/r1/export/har'],
    ['GET', '/api/diff?base=a&next=b'],
    ['GET', '/runs/r1'],
    ['GET', '/runs/r1/report'],
    ['POST', '/runs'],
    ['GET', '/diff'],
    ['GET', '/admin/queues'],
    ['GET', '/admin/queues/api/queues'],
    ['GET', '/static/watch.js'],
  ];
  for (const [method, path] of routes) {
    const none = await api(path, { method }, null);
    assert.equal(none.status, 401, `${method} ${path} without a token`);
    await none.body?.cancel();
    const wrong = await api(path, { method }, 'wrong-token-0123456789');
    assert.equal(wrong.status, 401, `${method} ${path} with a wrong token`);
    await wrong.body?.cancel();
  }
  assert.equal(await queued(), 0);
});

test('bad submissions get a clear 4xx and nothing is queued', async () => {
  const before = await queued();
  const big = await api('/api/runs?name=big.img', {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: Buffer.alloc(UPLOAD_LIMIT + 1, 1),
  });
  assert.equal(big.status, 413);
  assert.equal((await errorOf(big)).code, 'upload-too-large');

  const form = new FormData();
  form.set('file', new Blob([Buffer.alloc(UPLOAD_LIMIT * 2, 2)]), 'big.zip');
  const bigForm = await api('/api/runs', { method: 'POST', body: form });
  assert.equal(bigForm.status, 413);
  assert.equal((await errorOf(bigForm)).code, 'upload-too-large');

  const junk = await api('/api/runs?name=junk.img', {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: Buffer.from('not an image at all'),
  });
  assert.equal(junk.status, 400, 'an upload that is no image is refused before queueing');
  await errorOf(junk);
  const uploads = await readdir(join(world.config.dataRoot, 'uploads')).catch(() => []);
  assert.deepEqual(uploads, [], 'refused uploads are removed');

  const outside = await postJson('/api/runs', { path: '/etc/passwd' });
  assert.equal(outside.status, 403);
  assert.equal((await errorOf(outside)).code, 'path-not-allowed');

  const escape = await postJson('/api/runs', { path: `${world.config.dataRoot}/../../etc` });
  assert.ok(escape.status === 403 || escape.status === 400, `status ${escape.status}`);
  await errorOf(escape);

  const malformed = await api('/api/runs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"lab": "adups-2016"',
  });
  assert.equal(malformed.status, 400);
  assert.equal((await errorOf(malformed)).code, 'body-malformed');

  const unknownLab = await postJson('/api/runs', { lab: '../../etc/passwd' });
  assert.equal(unknownLab.status, 400);
  assert.equal((await errorOf(unknownLab)).code, 'lab-image-unknown');

  const both = await postJson('/api/runs', { lab: 'adups-2016', path: '/tmp' });
  assert.equal(both.status, 400);
  await errorOf(both);

  const unknownConsent = await postJson('/api/runs', {
    lab: 'xiaomi-2021',
    options: { consents: { 'experince-programme': 'refuse' } },
  });
  assert.equal(unknownConsent.status, 400, 'a consent the plan does not declare');
  assert.equal((await errorOf(unknownConsent)).code, 'consent-unknown');
  const badDecision = await postJson('/api/runs', {
    lab: 'xiaomi-2021',
    options: { consents: { 'experience-programme': 'maybe' } },
  });
  assert.equal(badDecision.status, 400);
  assert.equal((await errorOf(badDecision)).code, 'options-invalid');
  const badPlan = await postJson('/api/runs', {
    lab: 'xiaomi-2021',
    options: { plan: { steps: [{ do: 'dance' }] } },
  });
  assert.equal(badPlan.status, 400);
  assert.equal((await errorOf(badPlan)).code, 'plan-invalid');

  const unknownRun = await api('/api/runs/r-nope/report');
  assert.equal(unknownRun.status, 404);
  await errorOf(unknownRun);
  const badId = await api('/api/runs/..%2Fetc/report');
  assert.ok(badId.status === 404 || badId.status === 400, `status ${badId.status}`);
  await badId.body?.cancel();
  assert.equal(await queued(), before);
});

test(
  'a lab run submitted through the API completes; report, events and exports are served',
  { timeout: 90_000 },
  async () => {
    // A short clock advance keeps the run quick: the boot-time uploads and the forced jobs
    // already leak every kind this test looks at.
    const submitted = await postJson('/api/runs', { lab: 'adups-2016', options: QUICK });
    assert.equal(submitted.status, 201);
    const { runId } = (await submitted.json()) as { runId: string };
    await waitFor(runId);

    const detail = (await (await api(`/api/runs/${runId}`)).json()) as {
      record: { status: string };
      job: { state: string };
    };
    assert.equal(detail.record.status, 'done');
    assert.equal(detail.job.state, 'completed');

    const list = (await (await api('/api/runs?q=adups')).json()) as {
      runs: Array<{ runId: string }>;
    };
    assert.ok(list.runs.some((r) => r.runId === runId));
    const none = (await (await api('/api/runs?q=no-such-label')).json()) as { runs: unknown[] };
    assert.equal(none.runs.length, 0);

    const report = (await (await api(`/api/runs/${runId}/report`)).json()) as {
      leaks: Array<{ id: string }>;
      destinations: Array<{ host: string; leakCount: number }>;
      run: { image: { sha256: string } };
    };
    assert.ok(report.leaks.length > 0);

    const har = await api(`/api/runs/${runId}/export/har`);
    assert.equal(har.status, 200);
    const harJson = (await har.json()) as { log: { entries: unknown[] } };
    await harValidator.har(harJson);
    assert.ok(harJson.log.entries.length > 0);

    const events = await api(`/api/runs/${runId}/export/events`);
    assert.equal(events.status, 200);
    const lines = (await events.text()).split('\n').filter((l) => l.trim());
    assert.ok(lines.length > 0);
    for (const line of lines)
      assert.equal(typeof (JSON.parse(line) as { type: unknown }).type, 'string');

    const exported = (await (await api(`/api/runs/${runId}/export/report`)).json()) as {
      leaks: unknown[];
    };
    assert.equal(exported.leaks.length, report.leaks.length);

    const bundle = (await (await api(`/api/runs/${runId}/export/stix`)).json()) as StixBundleShape;
    checkStix(bundle, report);
    const again = (await (await api(`/api/runs/${runId}/export/stix`)).json()) as StixBundleShape;
    assert.deepEqual(again, bundle, 'ids are deterministic');

    const pcap = await api(`/api/runs/${runId}/export/pcap`);
    assert.equal(pcap.status, 404);
    assert.equal((await errorOf(pcap)).code, 'pcap-unavailable');

    // An emulator run leaves its capture beside the report; the export must read back in tshark.
    const pcapPath = join(runDirFor(world.config.dataRoot, runId), 'emulator.pcap');
    await writeCapture(pcapPath, 'pcap-le-us', 'ethernet', [
      {
        client: { ip: '10.0.2.15', port: 40000 },
        server: { ip: '127.0.0.1', port: 80 },
        upstream: Buffer.from('GET / HTTP/1.1\r\nHost: bigdata.adups.com\r\n\r\n'),
      },
    ]);
    const served = await api(`/api/runs/${runId}/export/pcap`);
    assert.equal(served.status, 200);
    const copy = join(world.config.dataRoot, 'exported.pcap');
    await writeFile(copy, Buffer.from(await served.arrayBuffer()));
    const tshark = await execa('tshark', ['-r', copy, '-T', 'fields', '-e', 'http.host'], {
      timeout: 30_000,
      reject: false,
    });
    if (tshark.exitCode === 0) assert.match(tshark.stdout, /bigdata\.adups\.com/);
    else assert.fail(`tshark could not read the export: ${tshark.stderr}`);

    // The event stream of a finished run replays it whole and ends.
    const stream = await api(`/api/runs/${runId}/events`);
    assert.equal(stream.headers.get('content-type')?.startsWith('text/event-stream'), true);
    const text = await stream.text();
    assert.ok(
      text.includes('event: end\ndata: {"status":"completed"'),
      'the stream ends with the run',
    );
    assert.ok((text.match(/"type":"leak"/g) ?? []).length >= report.leaks.length);
    for (const stage of STAGES)
      assert.ok(text.includes(`"stage":"${stage}"`), `no ${stage} in the replay`);

    const dashboard = await api('/admin/queues');
    assert.equal(dashboard.status, 200);
    await dashboard.body?.cancel();
    const page = await api(`/runs/${runId}/report`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /bigdata\.adups\.com/);

    const cancelDone = await api(`/api/runs/${runId}/cancel`, { method: 'POST' });
    assert.equal(cancelDone.status, 409);
    await errorOf(cancelDone);

    const selfDiff = (await (await api(`/api/diff?base=${runId}&next=${runId}`)).json()) as {
      kinds: Array<{ status: string }>;
    };
    assert.ok(selfDiff.kinds.some((k) => k.status === 'still'));

    // With the worker gone, a rerun stays queued: it reuses the run's settings, links its
    // baseline, and can be cancelled. (The browser test runs a rerun to its end and diffs it.)
    await env.worker.close();
    const rerun = await postJson(`/api/runs/${runId}/rerun`, { image: 'adups-2016-fixed' });
    assert.equal(rerun.status, 201);
    const next = ((await rerun.json()) as { runId: string }).runId;
    const nextDetail = (await (await api(`/api/runs/${next}`)).json()) as {
      job: { state: string; data: { baselineRunId: string; imageLabel: string; options: unknown } };
    };
    assert.equal(nextDetail.job.data.baselineRunId, runId);
    assert.equal(nextDetail.job.data.imageLabel, 'adups-2016-fixed');
    assert.deepEqual(nextDetail.job.data.options, QUICK, 'the rerun reuses the run settings');
    const cancelled = await api(`/api/runs/${next}/cancel`, { method: 'POST' });
    assert.equal(cancelled.status, 200);
    assert.deepEqual(await cancelled.json(), { runId: next, status: 'cancelled' });
    assert.equal((await api(`/api/runs/${next}`)).status, 404);
    const noImage = await postJson(`/api/runs/${runId}/rerun`, { image: '/etc/passwd' });
    assert.equal(noImage.status, 403);
    await errorOf(noImage);
  },
);

test('the report page of a run with 10,000 leaks is paged and quick', async () => {
  const runId = 'r-ten-thousand';
  const leaks = Array.from({ length: 10_000 }, (_, i) =>
    leak({ kind: 'imei', host: BIGDATA, t: T0 + i, value: `MATCH${i}`, excerpt: `…MATCH${i}…` }),
  );
  const report = buildReport(
    input(leaks, [flow(BIGDATA)], { run: { ...input([], []).run, runId } }),
  );
  const dir = runDirFor(world.config.dataRoot, runId);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'report.json'), JSON.stringify(report));
  const started = performance.now();
  const page = await api(`/runs/${runId}/report?offset=5000`);
  const html = await page.text();
  const elapsed = performance.now() - started;
  assert.equal(page.status, 200);
  assert.ok(elapsed < 3000, `served in ${elapsed.toFixed(0)} ms, expected < 3000`);
  assert.ok(html.length < 2 * 1024 * 1024, `page is ${html.length} bytes`);
  assert.ok(
    html.includes('MATCH5000') && html.includes('MATCH5199') && !html.includes('MATCH5200…'),
  );
  assert.ok(html.includes(`/runs/${runId}/report?offset=5200`), 'a link to the next page');
  assert.ok(html.includes(`/runs/${runId}/report?offset=4800`), 'a link to the previous page');
});

interface StixBundleShape {
  type: string;
  id: string;
  objects: Array<Record<string, unknown> & { type: string; id: string }>;
}

/**
 * The bundle against the official OASIS STIX 2.1 schemas (bundle and each object's type), and
 * what the schemas cannot say: refs resolve inside the bundle, the run's endpoints and image are in it.
 */
function checkStix(
  bundle: StixBundleShape,
  report: {
    destinations: Array<{ host: string; leakCount: number }>;
    run: { image: { sha256: string } };
  },
): void {
  assert.deepEqual(stix.check(bundle), [], 'the bundle breaks the STIX 2.1 schemas');
  assert.ok(
    stix.check({ ...bundle, objects: [{ ...bundle.objects[0], id: 'identity--0' }] }).length > 0,
    'the schema check rejects a broken bundle',
  );
  assert.equal(bundle.type, 'bundle');
  const idForm =
    /^([a-z][a-z0-9-]+[a-z0-9])--[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.match(bundle.id, idForm);
  const ids = new Set(bundle.objects.map((o) => o.id));
  assert.equal(ids.size, bundle.objects.length, 'ids are unique');
  const stamp = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
  for (const object of bundle.objects) {
    assert.equal(object.id.split('--')[0], object.type, object.id);
    assert.match(object.id, idForm);
    assert.equal(object['spec_version'], '2.1');
    for (const [key, value] of Object.entries(object)) {
      if (key.endsWith('_ref')) assert.ok(ids.has(String(value)), `${object.id} ${key}`);
      if (key.endsWith('_refs'))
        for (const ref of value as string[]) assert.ok(ids.has(ref), `${object.id} ${key}`);
    }
    if (object.type === 'observed-data' || object.type === 'identity') {
      assert.match(String(object['created']), stamp);
      assert.match(String(object['modified']), stamp);
    }
    if (object.type === 'observed-data') {
      assert.match(String(object['first_observed']), stamp);
      assert.ok(Number(object['number_observed']) >= 1);
      assert.ok((object['object_refs'] as string[]).length > 0);
    }
    if (object.type === 'network-traffic') {
      assert.ok(Array.isArray(object['protocols']) && (object['protocols'] as string[]).length > 0);
      assert.ok(object['dst_ref'] || object['src_ref']);
    }
  }
  const domains = bundle.objects.filter((o) => o.type === 'domain-name').map((o) => o['value']);
  for (const d of report.destinations.filter(
    (x) => x.leakCount > 0 && /[a-z]\.[a-z]+$/i.test(x.host),
  ))
    assert.ok(domains.includes(d.host), `no domain-name for ${d.host}`);
  const file = bundle.objects.find((o) => o.type === 'file');
  assert.deepEqual(file?.['hashes'], { 'SHA-256': report.run.image.sha256 });
  assert.ok(bundle.objects.some((o) => o.type === 'software'));
  assert.ok(bundle.objects.some((o) => o.type === 'identity'));
}
