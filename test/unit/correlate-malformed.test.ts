import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { correlateFiles, readEventsJsonl, readHar, readPcap } from '../../src/correlate/index.ts';
import { isCanarytrapError } from '../../src/errors.ts';
import { withTempDir } from '../fixtures/correlate/temp-dir.ts';
import { makeCanarySet } from '../fixtures/correlate/canaries.ts';
import { writeCapture, type Conversation } from '../fixtures/correlate/pcap-writer.ts';

const withDir = (fn: (dir: string) => Promise<void>): Promise<void> =>
  withTempDir('ct-correlate-bad-', fn);

function conversation(i: number, body: string): Conversation {
  return {
    client: { ip: '10.0.2.15', port: 41000 + i },
    server: { ip: '192.0.2.10', port: 80 },
    upstream: Buffer.from(
      `POST /u${i} HTTP/1.1\r\nHost: h.example.net\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    ),
  };
}

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isCanarytrapError(error), 'a CanarytrapError with a code');
    assert.match((error as Error).message, pattern);
    return true;
  });
}

test('a truncated pcap keeps the packets before the cut and warns with the byte offset', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'cut.pcap');
    await writeCapture(path, 'pcap-le-us', 'ethernet', [
      conversation(0, 'first=1'),
      conversation(1, 'second=2'),
    ]);
    const whole = await readFile(path);
    await writeFile(path, whole.subarray(0, whole.length - 30));
    const { flows, warnings } = await readPcap(path);
    assert.equal(flows.length, 2, 'both requests were complete before the cut');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /cut\.pcap: truncated packet at byte \d+/);
  });
});

test('a pcap cut inside its header, or not a capture at all, is an error naming file and position', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'tiny.pcap');
    await writeFile(path, Buffer.from([0xd4, 0xc3, 0xb2, 0xa1, 0, 0]));
    await rejects(readPcap(path), /tiny\.pcap: pcap header is cut short at byte 0/);
    const text = join(dir, 'notes.pcap');
    await writeFile(text, 'hello, not a capture');
    await rejects(readPcap(text), /notes\.pcap: unknown file magic 0x68656c6c .* at byte 0/);
  });
});

test('garbage pcapng blocks are skipped with a warning and the following blocks still read', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'garbage.pcapng');
    await writeCapture(path, 'pcapng', 'ethernet', [
      conversation(0, 'a=1'),
      conversation(1, 'b=2'),
    ]);
    const whole = await readFile(path);
    // Overwrite one block's length field in the middle of the file with garbage.
    const at = Math.floor(whole.length / 2) & ~3;
    let block = 28;
    while (block + 8 < whole.length) {
      const length = whole.readUInt32LE(block + 4);
      if (block + length > at) break;
      block += length;
    }
    whole.writeUInt32LE(0xdeadbeef, block + 4);
    await writeFile(path, whole);
    const { flows, warnings } = await readPcap(path);
    assert.ok(
      warnings.some((w) =>
        new RegExp(`garbage\\.pcapng: malformed block at byte ${block}; skipped \\d+ bytes`).test(
          w,
        ),
      ),
      warnings.join('\n'),
    );
    assert.ok(flows.length >= 1, 'blocks after the garbage are read');
  });
});

test('HAR that is not JSON, or JSON that is not HAR, is an error naming the file', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'broken.har');
    await writeFile(path, '{"log": {"entries": [ {"request": ');
    await rejects(readHar(path), /broken\.har: not JSON/);
    const notHar = join(dir, 'other.har');
    await writeFile(notHar, '{"hello": 1}');
    await rejects(readHar(notHar), /other\.har: no log\.entries array/);
  });
});

test('events lines that are not JSON are skipped with file:line warnings; a file of only bad lines is an error', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'events.jsonl');
    const good = {
      t: 1,
      source: 'lab',
      pid: 3,
      package: 'com.example',
      type: 'dns.query',
      name: 'a.example.org',
    };
    await writeFile(
      path,
      `${JSON.stringify(good)}\nnot json at all\n{"t": 1}\n${JSON.stringify(good)}\n`,
    );
    const { events, warnings } = await readEventsJsonl(path);
    assert.equal(events.length, 2);
    assert.deepEqual(
      warnings.map((w) => w.split(': ')[0]),
      [`${path}:2`, `${path}:3`],
    );
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, 'nope\nstill nope\n');
    await rejects(
      readEventsJsonl(bad),
      /bad\.jsonl:1: not JSON: no line of the file is a valid event/,
    );
  });
});

test('correlateFiles carries reader warnings into the report instead of an empty silent result', async () => {
  await withDir(async (dir) => {
    const set = makeCanarySet();
    const imei = set.canaries.find((c) => c.kind === 'imei')!;
    const canariesPath = join(dir, 'canaries.json');
    await writeFile(canariesPath, JSON.stringify(set));
    const pcap = join(dir, 'run.pcap');
    await writeCapture(pcap, 'pcap-le-us', 'ethernet', [
      conversation(0, `imei=${imei.value}`),
      conversation(1, 'x=1'),
    ]);
    const whole = await readFile(pcap);
    await writeFile(pcap, whole.subarray(0, whole.length - 10));
    const events = join(dir, 'events.jsonl');
    await writeFile(
      events,
      `{"t":1,"source":"lab","pid":1,"package":"com.adups.fota","type":"net.connect","host":"h.example.net","ip":"192.0.2.10","port":80}\n{broken\n`,
    );
    const keylog = join(dir, 'keys.log');
    await writeFile(
      keylog,
      `# comment\nCLIENT_RANDOM ${'ab'.repeat(32)} ${'cd'.repeat(48)}\nCLIENT_RANDOM zz 00\n`,
    );
    const result = await correlateFiles({
      canariesPath,
      pcap: [pcap],
      events: [events],
      keylog,
    });
    assert.equal(result.leaks.length, 1);
    assert.equal(result.leaks[0]!.app, 'com.adups.fota');
    assert.ok(result.warnings.some((w) => w.includes('truncated packet')));
    assert.ok(result.warnings.some((w) => w.includes('events.jsonl:2')));
    assert.ok(result.warnings.some((w) => w.includes('keys.log:3: CLIENT_RANDOM line is not')));
  });
});

test('a key log that is missing or holds no secret is an error naming the file', async () => {
  await withDir(async (dir) => {
    const canariesPath = join(dir, 'canaries.json');
    await writeFile(canariesPath, JSON.stringify(makeCanarySet()));
    const missing = join(dir, 'missing.log');
    await rejects(
      correlateFiles({ canariesPath, har: [], keylog: missing }),
      /missing\.log: cannot read the TLS key log/,
    );
    const empty = join(dir, 'empty.log');
    await writeFile(empty, 'not a key log\n');
    await rejects(
      correlateFiles({ canariesPath, har: [], keylog: empty }),
      /empty\.log: no TLS secret in the key log/,
    );
  });
});
