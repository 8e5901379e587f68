import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usePipelineWorld } from '../support/pipeline-world.ts';

const world = usePipelineWorld({ concurrency: 2 });

test(
  'adups-2016 leaks at least five canary kinds, each with host, app and transforms',
  { timeout: 200_000 },
  async () => {
    const { report, progress } = await world.analyse('adups-2016');
    const kinds = new Set(report.leaks.map((l) => l.canary.kind));
    assert.ok(kinds.size >= 5, `only ${[...kinds].join(', ')}`);
    for (const kind of ['sms_body', 'contact_name', 'call_number', 'imei', 'imsi'])
      assert.ok(kinds.has(kind as never), `no ${kind} leak`);
    for (const leak of report.leaks) {
      assert.ok(leak.destination.host, `leak ${leak.id} has no host`);
      assert.ok(leak.app, `leak ${leak.id} has no app`);
      assert.ok(leak.transforms.length > 0, `leak ${leak.id} has no transforms`);
    }
    const bigdata = report.leaks.find(
      (l) => l.canary.kind === 'sms_body' && l.destination.host === 'bigdata.adups.com',
    );
    assert.ok(bigdata, 'the SMS body was not found in the bigdata upload');
    assert.equal(bigdata.app, 'com.adups.fota.sysoper');
    // The report carries the image inventory, with both ADUPS apps flagged.
    const inventory = report.inventory as {
      apps: Array<{ package: string }>;
      findings: Array<{ package?: string }>;
    };
    assert.deepEqual(inventory.apps.map((a) => a.package).sort(), [
      'com.adups.fota',
      'com.adups.fota.sysoper',
    ]);
    const flagged = new Set(inventory.findings.map((f) => f.package));
    assert.ok(
      flagged.has('com.adups.fota') && flagged.has('com.adups.fota.sysoper'),
      `findings for ${[...flagged].join(', ')}`,
    );
    assert.ok(
      bigdata.transforms.some((t) => t.startsWith('aes')),
      `transforms ${bigdata.transforms.join(' > ')}`,
    );
    // The device ran in its cage, and the probe proved the cage held before the image booted.
    assert.equal(report.containment?.status, 'verified', JSON.stringify(report.containment));
    if (report.containment?.status === 'verified') {
      assert.deepEqual(
        report.containment.checks.map((c) => [c.what, c.ok]),
        [
          ['tcp', true],
          ['udp', true],
          ['icmp', true],
        ],
      );
    }
    // The sinkhole answered the upload host with a fake IP, never a loopback address.
    assert.match(bigdata.destination.ip ?? '', /^198\.18\./, JSON.stringify(bigdata.destination));
    // Leaks were published live, as they were found, and every stage reported.
    assert.ok(progress.some((p) => p.type === 'leak'));
    const done = progress
      .filter((p) => p.type === 'stage' && p.status === 'done')
      .map((p) => (p.type === 'stage' ? p.stage : ''));
    assert.deepEqual(done, [
      'intake',
      'boot',
      'prepare',
      'plant',
      'exercise',
      'collect',
      'correlate',
      'report',
    ]);
  },
);
