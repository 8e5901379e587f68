import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { CanarySet } from '../../src/canary/types.ts';
import type { CorrelationResult } from '../../src/correlate/index.ts';
import { withTempDir } from '../fixtures/correlate/temp-dir.ts';
import { makeCanarySet } from '../fixtures/correlate/canaries.ts';
import { writeCapture } from '../fixtures/correlate/pcap-writer.ts';

const CLI = join(import.meta.dirname, '../../bin/canarytrap.js');

const withDir = (fn: (dir: string) => Promise<void>): Promise<void> =>
  withTempDir('ct-correlate-cli-', fn);

function canary(set: CanarySet, kind: string): string {
  const found = set.canaries.find((c) => c.kind === kind);
  assert.ok(found, `the canary set has a ${kind}`);
  return found.value;
}

async function correlateCli(args: string[], cwd: string) {
  return execa('node', [CLI, 'correlate', ...args], { cwd, timeout: 60_000, reject: false });
}

/** One capture of each kind, each carrying one canary: IMEI in a pcap, email in a HAR, phone in an SMS event. */
async function writeInputs(dir: string, set: CanarySet): Promise<void> {
  await writeFile(join(dir, 'set.json'), JSON.stringify(set));
  const body = JSON.stringify({ imei: canary(set, 'imei'), build: 'MT6580' });
  await writeCapture(join(dir, 'x.pcap'), 'pcap-le-us', 'ethernet', [
    {
      client: { ip: '10.0.2.15', port: 41234 },
      server: { ip: '192.0.2.10', port: 80 },
      upstream: Buffer.from(
        `POST /fota/check HTTP/1.1\r\nHost: fota.adups.example\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ),
      disorder: true,
    },
  ]);
  const email = encodeURIComponent(canary(set, 'email'));
  const har = {
    log: {
      version: '1.2',
      creator: { name: 'test', version: '1' },
      entries: [
        {
          startedDateTime: '2026-01-01T00:00:00.000Z',
          serverIPAddress: '192.0.2.20',
          request: {
            method: 'GET',
            url: `https://ads.tracker.example/p?u=${email}`,
            httpVersion: 'HTTP/1.1',
            headers: [{ name: 'Host', value: 'ads.tracker.example' }],
          },
          response: { status: 204, headers: [] },
        },
      ],
    },
  };
  await writeFile(join(dir, 'y.har'), JSON.stringify(har));
  const sms = {
    t: 1_767_225_600_000,
    source: 'lab',
    pid: 4242,
    package: 'com.adups.fota',
    type: 'sms.send',
    destination: '+15555550100',
    body: `reg ${canary(set, 'phone_number')}`,
  };
  await writeFile(join(dir, 'z.jsonl'), `${JSON.stringify(sms)}\n`);
}

test('canarytrap correlate finds canaries in pcap, HAR and events, prints them and writes --json', async () => {
  await withDir(async (dir) => {
    const set = makeCanarySet();
    await writeInputs(dir, set);
    const run = await correlateCli(
      [
        '--canaries',
        'set.json',
        '--pcap',
        'x.pcap',
        '--har',
        'y.har',
        '--events',
        'z.jsonl',
        '--json',
        'out.json',
      ],
      dir,
    );
    assert.equal(run.exitCode, 0, run.stderr);
    assert.equal(run.stderr, '', 'no warnings for well-formed inputs');
    const lines = run.stdout.split('\n').filter((l) => l !== '');
    const summary = lines.pop();
    const out = JSON.parse(await readFile(join(dir, 'out.json'), 'utf8')) as CorrelationResult;
    assert.equal(summary, `${out.leaks.length} leaks, 0 opaque flows`);
    assert.equal(lines.length, out.leaks.length, 'one line per leak');

    const expected = [
      { kind: 'imei', host: 'fota.adups.example:80', app: 'unknown app' },
      { kind: 'email', host: 'ads.tracker.example', app: 'unknown app' },
      { kind: 'phone_number', host: '+15555550100', app: 'com.adups.fota' },
    ];
    for (const { kind, host, app } of expected) {
      const value = canary(set, kind);
      const line = lines.find((l) => l.startsWith(`${kind} ${value} → ${host}`));
      assert.ok(line, `a leak line for the ${kind} to ${host}:\n${run.stdout}`);
      assert.match(line, new RegExp(`from ${app.replaceAll('.', '\\.')} via `));
      const leak = out.leaks.find((l) => l.canary.kind === kind);
      assert.ok(leak, `out.json has the ${kind} leak`);
      assert.equal(leak.canary.value, value);
      assert.ok(leak.confidence > 0 && leak.confidence <= 1);
    }
    const kinds = new Set(out.leaks.map((l) => l.canary.kind));
    assert.deepEqual([...kinds].sort(), ['email', 'imei', 'phone_number']);
    assert.equal(out.leaks.find((l) => l.canary.kind === 'imei')?.site.kind, 'flow');
    assert.equal(out.leaks.find((l) => l.canary.kind === 'phone_number')?.site.kind, 'event');
    assert.deepEqual(out.warnings, []);
    assert.equal(out.stats.flows, 2);
    assert.equal(out.stats.events, 1);
  });
});

test('canarytrap correlate on a malformed capture exits 3 with one line naming file and position', async () => {
  await withDir(async (dir) => {
    const set = makeCanarySet();
    await writeInputs(dir, set);
    await writeFile(join(dir, 'cut.pcap'), Buffer.from([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]));
    const cut = await correlateCli(
      ['--canaries', 'set.json', '--pcap', 'cut.pcap', '--har', 'y.har', '--json', 'out.json'],
      dir,
    );
    assert.equal(cut.exitCode, 3);
    assert.equal(cut.stdout, '');
    const lines = cut.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, cut.stderr);
    assert.match(lines[0]!, /cut\.pcap: pcap header is cut short at byte 0/);
    await assert.rejects(access(join(dir, 'out.json')), 'no report is written');

    // pcapng whose first block is garbage.
    const garbage = Buffer.alloc(64, 0x41);
    garbage.writeUInt32LE(0x0a0d0d0a, 0);
    await writeFile(join(dir, 'bad.pcapng'), garbage);
    const bad = await correlateCli(['--canaries', 'set.json', '--pcap', 'bad.pcapng'], dir);
    assert.equal(bad.exitCode, 3);
    const badLines = bad.stderr.split('\n').filter((l) => l !== '');
    assert.equal(badLines.length, 1, bad.stderr);
    assert.match(badLines[0]!, /bad\.pcapng: .* at byte 0/);
  });
});

test('canarytrap correlate without any capture exits 3 and says what to pass', async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, 'set.json'), JSON.stringify(makeCanarySet()));
    const run = await correlateCli(['--canaries', 'set.json'], dir);
    assert.equal(run.exitCode, 3);
    assert.match(run.stderr, /nothing to search.*--pcap, --har or --events/s);
  });
});
