import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { correlate, readPcap } from '../../src/correlate/index.ts';
import { corpusTraffic } from '../fixtures/correlate/capture-corpus.ts';
import { assertCorpusResult, freshCorpus } from '../fixtures/correlate/check.ts';
import {
  writeCapture,
  type FileFormat,
  type LinkLayer,
} from '../fixtures/correlate/pcap-writer.ts';

async function tsharkAvailable(): Promise<boolean> {
  try {
    await execa('tshark', ['--version'], { timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

const LAYOUTS: Array<{ format: FileFormat; layer: LinkLayer; v6: boolean }> = [
  { format: 'pcap-le-us', layer: 'ethernet', v6: false },
  { format: 'pcap-be-ns', layer: 'raw', v6: true },
  { format: 'pcapng', layer: 'sll', v6: false },
];

for (const layout of LAYOUTS) {
  test(`corpus as ${layout.format} over ${layout.layer} ${layout.v6 ? 'IPv6' : 'IPv4'}: tshark reads it, every case found, no near miss`, async (t) => {
    if (!(await tsharkAvailable())) {
      t.skip('tshark is not installed: the written capture cannot be validated');
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'ct-correlate-pcap-'));
    try {
      const corpus = freshCorpus();
      const { conversations, datagrams } = corpusTraffic(
        corpus,
        layout.v6,
        'bigdata.adups.example',
      );
      const path = join(dir, `corpus.${layout.format === 'pcapng' ? 'pcapng' : 'pcap'}`);
      await writeCapture(path, layout.format, layout.layer, conversations, datagrams);
      const tshark = await execa('tshark', ['-r', path, '-q'], { timeout: 60_000, reject: false });
      assert.equal(tshark.exitCode, 0, `tshark rejects the capture: ${tshark.stderr}`);
      const count = await execa(
        'tshark',
        ['-r', path, '-Y', 'http.request', '-T', 'fields', '-e', 'http.request.uri'],
        { timeout: 60_000 },
      );
      assert.equal(
        count.stdout.split('\n').filter((l) => l.startsWith('/c/')).length,
        corpus.cases.length,
        'tshark sees every request',
      );

      const { flows, warnings } = await readPcap(path);
      assert.deepEqual(warnings, []);
      const result = correlate({ canaries: corpus.canaries, flows, events: corpus.events });
      const byFlow = new Map(
        flows.map((f) => [
          f.id,
          corpus.cases.find((c) => f.request?.url.split('?')[0] === `/c/${c.name}`),
        ]),
      );
      const httpLeaks = {
        ...result,
        leaks: result.leaks.filter(
          (l) => l.site.kind === 'flow' && byFlow.get(l.site.flowId) !== undefined,
        ),
      };
      assertCorpusResult(corpus, httpLeaks, (id) => byFlow.get(id));

      const imei = corpus.canaries.canaries.find((k) => k.kind === 'imei')!;
      const other = result.leaks.filter(
        (l) => l.site.kind === 'flow' && byFlow.get(l.site.flowId) === undefined,
      );
      assert.ok(
        other.some(
          (l) =>
            l.canary.id === imei.id &&
            l.destination.port === 7070 &&
            l.transforms.join('>') === 'tcp',
        ),
        'raw TCP leak',
      );
      assert.ok(
        other.some(
          (l) =>
            l.canary.id === imei.id &&
            l.destination.channel === 'dns' &&
            l.transforms.includes('hex'),
        ),
        'DNS label leak',
      );
      assert.deepEqual(
        result.opaque.map((o) => [o.host, o.port]),
        [['bigdata.adups.example', 443]],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
