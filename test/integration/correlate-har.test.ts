import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { correlate, readHar } from '../../src/correlate/index.ts';
import { assertCorpusResult, freshCorpus } from '../fixtures/correlate/check.ts';

test('corpus as HAR 1.2 (text and base64 postData): every case found, no near miss', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ct-correlate-har-'));
  try {
    const corpus = freshCorpus();
    const entries = corpus.cases.map((c, i) => {
      const text = isUtf8(c.body) && !c.body.some((b) => b < 0x09 || (b > 0x0d && b < 0x20));
      const contentType =
        c.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1] ??
        'application/octet-stream';
      return {
        startedDateTime: new Date(1_700_000_000_000 + i).toISOString(),
        time: 1,
        serverIPAddress: '192.0.2.10',
        request: {
          method: c.method,
          url: `${i % 2 ? 'https' : 'http'}://collector.example.net${c.url}`,
          httpVersion: 'HTTP/1.1',
          cookies: [],
          headers: c.headers.map(([name, value]) => ({ name, value })),
          queryString: [],
          headersSize: -1,
          bodySize: c.body.length,
          ...(c.body.length > 0
            ? {
                postData: {
                  mimeType: contentType,
                  text: c.body.toString(text ? 'utf8' : 'base64'),
                  ...(text ? {} : { encoding: 'base64' }),
                },
              }
            : {}),
        },
        response: {
          status: 200,
          statusText: 'OK',
          httpVersion: 'HTTP/1.1',
          cookies: [],
          headers: [],
          content: { size: 0, mimeType: 'text/plain' },
          redirectURL: '',
          headersSize: -1,
          bodySize: 0,
        },
        cache: {},
        timings: { send: 0, wait: 1, receive: 0 },
      };
    });
    const path = join(dir, 'corpus.har');
    await writeFile(
      path,
      JSON.stringify({ log: { version: '1.2', creator: { name: 'test', version: '1' }, entries } }),
    );
    const { flows, warnings } = await readHar(path);
    assert.deepEqual(warnings, []);
    assert.equal(flows.length, corpus.cases.length);
    assert.ok(
      flows.some((f) => f.protocol === 'https') && flows.some((f) => f.protocol === 'http'),
    );
    const result = correlate({ canaries: corpus.canaries, flows, events: corpus.events });
    const byFlow = new Map(flows.map((f, i) => [f.id, corpus.cases[i]]));
    assertCorpusResult(corpus, result, (id) => byFlow.get(id));
    assert.ok(
      result.leaks
        .filter((l) => l.destination.channel === 'https')
        .every((l) => l.transforms[0] === 'tls'),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
