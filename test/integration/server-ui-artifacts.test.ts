import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runDirFor } from '../../src/run/run-dir.ts';
import { startServerEnv, type ServerEnv } from '../support/server-env.ts';

const TOKEN = 'test-token-ui-artifacts-0123';
const RUN = 'r20261121-0700-abcdef';
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

let env: ServerEnv;

before(async () => {
  env = await startServerEnv({ apiToken: TOKEN });
  const ui = join(runDirFor(env.config.dataRoot, RUN), 'ui');
  await mkdir(ui, { recursive: true });
  await writeFile(join(ui, '01-finish-setup.png'), PNG);
  await writeFile(join(ui, '01-finish-setup.xml'), '<hierarchy><script>x</script></hierarchy>');
  await writeFile(join(runDirFor(env.config.dataRoot, RUN), 'report.json'), '{"secret":true}');
});

after(async () => {
  await env?.close();
});

const get = (path: string, token: string | null = TOKEN) =>
  fetch(`${env.server.url}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    redirect: 'manual',
  });

test('the report page finds its screenshots at ui/<file> beside it, as report.html does', async () => {
  const png = await get(`/runs/${RUN}/ui/01-finish-setup.png`);
  assert.equal(png.status, 200);
  assert.equal(png.headers.get('content-type'), 'image/png');
  assert.deepEqual(Buffer.from(await png.arrayBuffer()), PNG);
  const xml = await get(`/runs/${RUN}/ui/01-finish-setup.xml`);
  assert.equal(xml.status, 200);
  // Page sources come from the device: shown as text, never rendered.
  assert.equal(xml.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.equal(xml.headers.get('x-content-type-options'), 'nosniff');
});

test('only UI files are served there, and only with the token', async () => {
  assert.equal((await get(`/runs/${RUN}/ui/01-finish-setup.png`, null)).status, 401);
  assert.equal((await get(`/runs/${RUN}/ui/02-finish-setup.png`)).status, 404);
  for (const path of [
    `/runs/${RUN}/ui/report.json`,
    `/runs/${RUN}/ui/..%2freport.json`,
    `/runs/${RUN}/ui/../report.json`,
    `/runs/${RUN}/ui/01-finish-setup.png.json`,
  ]) {
    const response = await get(path);
    assert.notEqual(response.status, 200, path);
    assert.doesNotMatch(await response.text(), /secret/, path);
  }
});
