import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openZipChecked } from '../../src/android/zip-safe.ts';
import { readHar } from '../../src/correlate/readers/har.ts';
import { readPcap } from '../../src/correlate/readers/pcap.ts';
import { isCanarytrapError } from '../../src/errors.ts';
import { extractPayload } from '../../src/intake/ota/payload.ts';
import { extractSuperPartitions } from '../../src/intake/ota/super-image.ts';
import { withTempDir } from '../fixtures/correlate/temp-dir.ts';
import { buildPayload, buildSuperImage, OP } from '../fixtures/intake/container-writers.ts';
import { repairSuper } from '../support/fuzz-targets-ota.ts';

/**
 * Inputs the fuzzing of issue 14 found (test/unit/fuzz-parsers.test.ts, `npm run fuzz`), each as
 * the exact bytes that broke a parser, with what the parser does with them now.
 */

const withDir = (fn: (dir: string) => Promise<void>): Promise<void> =>
  withTempDir('ct-fuzz-regression-', fn);

async function rejectsWithCode(promise: Promise<unknown>, code: string, pattern: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isCanarytrapError(error), `a coded error, not ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

test('zip: a zip64 locator pointing past 2^53 is zip-corrupt, not an uncaught RangeError', async () => {
  // The end-of-central-directory record, preceded by a zip64 locator whose offset is 3·2^56.
  const zip = Buffer.from(
    `504b0607 00000000 0000000000000003 01000000 504b0506 ${'00'.repeat(18)}`.replaceAll(' ', ''),
    'hex',
  );
  await withDir(async (dir) => {
    const path = join(dir, 'zip64.zip');
    await writeFile(path, zip);
    await rejectsWithCode(openZipChecked(path, 'zip64.zip'), 'zip-corrupt', /outside the 42-byte/);
  });
});

test('pcapng: a packet block too short for its fixed fields is skipped with a warning', async () => {
  // Section header, interface (Ethernet), then an enhanced packet block of 16 bytes.
  const capture = Buffer.from(
    '0a0d0d0a1c0000004d3c2b1a01000000ffffffffffffffff1c000000' +
      '010000001400000001000000000000001400000006000000100000000000000010000000',
    'hex',
  );
  await withDir(async (dir) => {
    const path = join(dir, 'short.pcapng');
    await writeFile(path, capture);
    const { flows, warnings } = await readPcap(path);
    assert.deepEqual(flows, []);
    assert.deepEqual(warnings, [
      `${path}: packet block at byte 48 names no interface or overruns its block; skipped`,
    ]);
  });
});

test('HAR: a form param holding a lone surrogate is sent as U+FFFD, not a URIError', async () => {
  const har =
    '{"log":{"entries":[{"startedDateTime":"2024-01-02T03:04:07.000Z","request":{"method":"POST",' +
    '"url":"http://form.example/f","headers":[],"postData":{"mimeType":' +
    '"application/x-www-form-urlencoded","params":[{"name":"\\ud800","value":"0010101234"}]}}}]}}';
  await withDir(async (dir) => {
    const path = join(dir, 'surrogate.har');
    await writeFile(path, har);
    const { flows } = await readHar(path);
    const body = Buffer.from(flows[0]?.request?.body ?? '', 'base64').toString();
    assert.equal(body, '%EF%BF%BD=0010101234');
  });
});

test('super.img: partitions sharing one run of extents are refused before they multiply', async () => {
  const image = buildSuperImage([
    { name: 'system', image: Buffer.alloc(4096, 1) },
    { name: 'vendor', image: Buffer.alloc(4096, 2) },
  ]);
  // Vendor names both extents, system's too: thousands of such partitions would name billions.
  const vendor = 12288 + 128 + 52;
  image.writeUInt32LE(0, vendor + 40);
  image.writeUInt32LE(2, vendor + 44);
  await withDir(async (dir) => {
    const path = join(dir, 'super.img');
    await writeFile(path, repairSuper(image));
    const wanted = [{ names: ['system'], file: 'system.img' }];
    await rejectsWithCode(
      extractSuperPartitions(path, 'super.img', dir, wanted, 1 << 20),
      'super-invalid',
      /partitions name more extents than the 2 it holds/,
    );
  });
});

test('payload.bin: many one-block operations do not each allocate a mebibyte', async (t) => {
  const operations = Array.from({ length: 500 }, (_, i) => ({
    type: OP.REPLACE,
    data: Buffer.alloc(512, i),
    dst: [{ start: i, blocks: 1 }],
  }));
  const payload = buildPayload([{ name: 'system', size: 500 * 512, operations }], 512);
  await withDir(async (dir) => {
    const path = join(dir, 'payload.bin');
    await writeFile(path, payload);
    const options = { maxImageBytes: 1 << 20, timeoutMs: 5_000 };
    const alloc = t.mock.method(Buffer, 'alloc');
    const written = await extractPayload(path, 'payload.bin', dir, ['system'], options);
    alloc.mock.restore();
    assert.deepEqual(written, ['system']);
    const allocated = alloc.mock.calls.reduce((sum, call) => sum + call.arguments[0], 0);
    // Each operation's copy once zeroed a whole mebibyte for its 512 bytes: 500 MiB in all.
    assert.ok(allocated < 4 << 20, `${allocated} bytes allocated`);
  });
});
