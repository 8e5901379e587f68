import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlows, readFlows, type Flow } from '../../src/capture/index.ts';

const flow: Flow = {
  id: 'a1',
  t: 1700000000000,
  protocol: 'tcp',
  destination: { host: 'push.example.org', ip: '198.18.0.9', port: 5555 },
  client: { ip: '127.0.0.1', port: 41000 },
  raw: Buffer.from([0, 1, 2, 255]).toString('base64'),
};

void test('readFlows reads back what was written, skipping blank lines', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'capture-flows-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'flows.jsonl');
  const second = { ...flow, id: 'a2', error: 'client-error:HPE_INVALID_METHOD' };
  await writeFile(path, `${JSON.stringify(flow)}\n\n${JSON.stringify(second)}\n`);
  assert.deepEqual(await readFlows(path), [flow, second]);
});

void test('a bad line is an error naming the file and the line', () => {
  const good = JSON.stringify(flow);
  assert.throws(() => parseFlows(`${good}\n{not json\n`, 'run/flows.jsonl'), {
    code: 'flows-invalid',
    message: /^run\/flows\.jsonl:2: not JSON/,
  });
  const wrongPort = JSON.stringify({ ...flow, destination: { ip: '198.18.0.9', port: '5555' } });
  assert.throws(() => parseFlows(`${good}\n${good}\n${wrongPort}`, 'f.jsonl'), {
    code: 'flows-invalid',
    message: /^f\.jsonl:3: destination\.port: /,
  });
  const notBase64 = JSON.stringify({ ...flow, raw: 'not base64!' });
  assert.throws(() => parseFlows(notBase64, 'f.jsonl'), {
    message: /^f\.jsonl:1: raw: not base64/,
  });
});

void test('a missing file is an InputError that says which file', async () => {
  await assert.rejects(readFlows(join(tmpdir(), 'no-such-dir-capture', 'flows.jsonl')), {
    code: 'flows-unreadable',
    message: /no-such-dir-capture/,
  });
});
