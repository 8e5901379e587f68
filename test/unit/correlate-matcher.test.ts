import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MultiPatternIndex } from '../../src/correlate/matcher.ts';
import { scanStream } from '../../src/correlate/index.ts';
import { makeCanarySet } from '../fixtures/correlate/canaries.ts';

function naive(hay: Buffer, pattern: Buffer, insensitive: boolean): number[] {
  const h = insensitive ? Buffer.from(hay.toString('latin1').toLowerCase(), 'latin1') : hay;
  const p = insensitive ? Buffer.from(pattern.toString('latin1').toLowerCase(), 'latin1') : pattern;
  const found: number[] = [];
  for (let at = h.indexOf(p); at !== -1; at = h.indexOf(p, at + 1)) found.push(at);
  return found;
}

test('the multi-pattern index finds exactly what one indexOf per pattern finds, at every alignment', () => {
  const alphabet = Buffer.from('abcAB01');
  const patterns = Array.from({ length: 300 }, (_, i) => ({
    bytes: Buffer.from(
      Array.from({ length: 3 + (i % 12) }, () => alphabet[randomInt(alphabet.length)]!),
    ),
    caseInsensitive: i % 2 === 0,
  }));
  const index = new MultiPatternIndex(patterns);
  for (const offset of [0, 1, 2, 3]) {
    const backing = Buffer.alloc(20_000 + offset);
    for (let i = 0; i < backing.length; i++) backing[i] = alphabet[randomInt(alphabet.length)]!;
    const hay = backing.subarray(offset);
    const found = new Map<number, number[]>();
    index.scan(hay, (id, start) => found.set(id, [...(found.get(id) ?? []), start]));
    patterns.forEach((p, id) => {
      assert.deepEqual(
        (found.get(id) ?? []).sort((a, b) => a - b),
        naive(hay, p.bytes, p.caseInsensitive),
        `pattern ${id} at buffer offset ${offset}`,
      );
    });
  }
});

test('scanStream finds a canary straddling a read boundary once, and counts every plant', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ct-stream-'));
  try {
    const set = makeCanarySet();
    const imei = set.canaries.find((c) => c.kind === 'imei')!;
    const chunk = 4096;
    const parts: Buffer[] = [];
    const expected: number[] = [];
    let size = 0;
    for (let i = 1; i <= 20; i++) {
      const filler = randomBytes(i * chunk - size - 5 - (i % 7));
      parts.push(filler);
      size += filler.length;
      expected.push(size);
      parts.push(Buffer.from(imei.value));
      size += imei.value.length;
    }
    const path = join(dir, 'blob.bin');
    await writeFile(path, Buffer.concat(parts));
    const result = await scanStream(path, set.canaries, { chunkSize: chunk });
    const plain = result.hits
      .filter((h) => h.canaryId === imei.id && h.variant === 'imei')
      .map((h) => h.offset);
    assert.deepEqual(plain, expected);
    assert.equal(result.bytes, size);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
