import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { labImageSchema } from '../../src/android/lab-image.ts';
import { buildLabImage } from '../../src/image-build/lab-images/build-lab-image.ts';
import { diffReports } from '../../src/report/diff.ts';
import { renderDiffText } from '../../src/report/diff-text.ts';
import { labImageCache } from '../../src/run/image-argument.ts';
import { usePipelineWorld } from '../support/pipeline-world.ts';

// The three runs of the file go at once: each mostly waits on the lab phone's device clock.
const world = usePipelineWorld({ concurrency: 3 });
const BIGDATA = 'bigdata.adups.com';
const SYSOPER = 'com.adups.fota.sysoper';

/**
 * adups-2016-pinned with only its pinned uploader: every canary it sends goes where capture
 * cannot read, so nothing leaks visibly. Built as bundled lab images are, into their cache, so it
 * runs wherever they run.
 */
async function uploadOnlyImage(): Promise<string> {
  const source = new URL('../../images/lab/adups-2016-pinned.json', import.meta.url);
  const image = labImageSchema.parse(JSON.parse(await readFile(source, 'utf8')));
  image.name = 'adups-2016-pinned-upload-only';
  image.apps = image.apps.filter((app) => app.package === SYSOPER);
  const dir = join(world.config.dataRoot, 'pinned-variant');
  await mkdir(dir, { recursive: true });
  const json = join(dir, `${image.name}.json`);
  await writeFile(json, JSON.stringify(image));
  return (await buildLabImage(json, labImageCache(world.config))).zipPath;
}

test(
  'a pinned upload is an unread flow, not a clean one: listed, named in the verdict, hidden in the diff',
  { timeout: 200_000 },
  async () => {
    const [base, pinned, alone] = await Promise.all([
      world.analyse('adups-2016'),
      world.analyse('adups-2016-pinned'),
      uploadOnlyImage().then((zip) =>
        world.analyse(zip, { label: 'adups-2016-pinned-upload-only' }),
      ),
    ]);

    // Unpinned, capture reads every flow of the image: the unread flows below are the pin's.
    assert.deepEqual(base.report.opaque, []);
    // The upload's handshakes failed at the pin: listed with destination, app, bytes and reason.
    const upload = pinned.report.opaque.filter((o) => o.destination.host === BIGDATA);
    assert.ok(upload.length > 0, JSON.stringify(pinned.report.opaque));
    for (const flow of upload) {
      assert.equal(flow.reason, 'tls-handshake-failed');
      assert.equal(flow.app, SYSOPER);
      assert.equal(flow.destination.port, 443);
      assert.ok(flow.destination.ip !== '', 'the flow has its address');
      assert.ok(flow.bytesSent > 0, 'the ClientHello was kept');
      assert.equal(flow.plaintextFromHook, false, 'a pinned app never writes into the session');
    }
    // Nothing leaked to the pinned host; the IMEI of the update check still leaks, so the verdict
    // stays leaks found and names what could not be read.
    assert.deepEqual(
      pinned.report.leaks.filter((l) => l.destination.host === BIGDATA),
      [],
    );
    assert.equal(pinned.report.verdict.status, 'leaks-found');
    assert.match(
      pinned.report.verdict.summary,
      /capture could not read \d+ flows? to bigdata\.adups\.com \(tls-handshake-failed\)/,
    );

    // adups-2016 → adups-2016-pinned: the big-data channels are hidden, not fixed.
    const diff = diffReports(base.report, pinned.report);
    const bigdata = diff.channels.filter((c) => c.host === BIGDATA);
    assert.ok(bigdata.length >= 5, JSON.stringify(diff.channels));
    for (const channel of bigdata) {
      assert.equal(channel.status, 'hidden', `${channel.kind}: ${channel.status}`);
      assert.equal(channel.hiddenBy?.evidence[0]?.match, 'host');
      assert.equal(channel.hiddenBy?.evidence[0]?.flow.destination.host, BIGDATA);
    }
    assert.deepEqual(diff.fixed.channels, []);
    for (const kind of ['sms_body', 'contact_name', 'call_number'] as const)
      assert.ok(diff.hidden.kinds.includes(kind), `${kind} is not hidden`);
    assert.equal(diff.kinds.find((k) => k.kind === 'imei')?.status, 'still');
    assert.match(renderDiffText(diff), /^ +HIDDEN +sms_body +→ bigdata\.adups\.com/m);

    // With nothing else to leak, the same pinned upload leaves the run inconclusive.
    assert.deepEqual(alone.report.leaks, []);
    assert.equal(alone.report.verdict.status, 'inconclusive');
    assert.match(alone.report.verdict.summary, /bigdata\.adups\.com \(tls-handshake-failed\)/);
    assert.ok(alone.report.opaque.some((o) => o.destination.host === BIGDATA && o.app === SYSOPER));
  },
);
