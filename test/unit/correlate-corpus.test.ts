import { test } from 'node:test';
import assert from 'node:assert/strict';
import { correlate } from '../../src/correlate/index.ts';
import { assertCorpusResult, caseFlow, freshCorpus } from '../fixtures/correlate/check.ts';

test('correlate finds every form, container, fingerprint and cipher of the corpus, and no near miss', () => {
  const corpus = freshCorpus();
  const flows = corpus.cases.map(caseFlow);
  const live: string[] = [];
  const result = correlate(
    { canaries: corpus.canaries, flows, events: corpus.events },
    { onLeak: (l) => live.push(l.id) },
  );
  const byId = new Map(corpus.cases.map((c) => [`f-${c.name}`, c]));
  assertCorpusResult(corpus, result, (id) => byId.get(id));
  assert.deepEqual(
    live,
    result.leaks.map((l) => l.id),
    'onLeak sees every leak, in order',
  );
  assert.equal(new Set(live).size, live.length, 'leak ids are unique');
  for (const leak of result.leaks) {
    assert.ok(leak.evidence.excerpt.length > 0 && leak.evidence.matched.length > 0);
    assert.ok(leak.confidence > 0 && leak.confidence <= 1);
    assert.equal(leak.destination.host, 'collector.example.net');
  }
});
