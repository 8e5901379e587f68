import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OpaqueFlowSummary } from '../../src/correlate/opaque.ts';
import { buildReport } from '../../src/report/build.ts';
import { diffReports } from '../../src/report/diff.ts';
import { renderDiffHtml } from '../../src/report/diff-html.ts';
import { renderDiffText } from '../../src/report/diff-text.ts';
import type { Report } from '../../src/report/model.ts';
import { parseReport } from '../../src/report/read.ts';
import {
  adupsFixedLeaks,
  adupsLeaks,
  BIGDATA,
  flow,
  FOTA,
  FOTA_HOST,
  input,
  leak,
  opaqueFlow,
  SYSOPER,
  T0,
} from '../support/report-fixtures.ts';

const base = (): Report =>
  buildReport(
    input(adupsLeaks(), [flow(BIGDATA, { app: SYSOPER }), flow(FOTA_HOST, { app: FOTA })]),
  );

/** The next run: the update check still read, and whatever capture could not read. */
function next(opaque: OpaqueFlowSummary[]): Report {
  const made = input(adupsFixedLeaks(), [flow(FOTA_HOST, { app: FOTA })], { opaque });
  made.run = { ...made.run, runId: 'run-2', jobId: 'job-2', baselineRunId: 'run-1' };
  made.run.image = { ...made.run.image, name: 'adups-2016-pinned', sha256: 'c'.repeat(64) };
  return buildReport(made);
}

const BIGDATA_KINDS = ['contact_name', 'sms_body', 'call_number', 'imsi'];

void test('a leak gone behind a pinned flow to the same host is hidden, not fixed', () => {
  const pinned = [
    opaqueFlow(BIGDATA, { app: SYSOPER, t: T0 + 30_000, ip: '198.51.100.7' }),
    opaqueFlow(BIGDATA, { app: SYSOPER, t: T0 + 90_000, ip: '198.51.100.7' }),
  ];
  const diff = diffReports(base(), next(pinned));
  assert.deepEqual(diff.fixed, { kinds: [], channels: [] });
  assert.deepEqual(diff.hidden.kinds, BIGDATA_KINDS);
  assert.deepEqual(
    diff.hidden.channels.map((c) => `${c.kind}→${c.host}`),
    ['contact_name', 'sms_body', 'call_number', 'imei', 'imsi'].map((k) => `${k}→${BIGDATA}`),
  );
  // The IMEI still leaks through the update check; its big-data channel is hidden.
  assert.deepEqual(diff.stillLeaking.kinds, ['imei']);
  assert.equal(diff.kinds.find((k) => k.kind === 'sms_body')?.status, 'hidden');
  const sms = diff.channels.find((c) => c.kind === 'sms_body');
  assert.equal(sms?.status, 'hidden');
  assert.equal(sms?.hiddenBy?.flows, 2);
  assert.deepEqual(
    sms?.hiddenBy?.evidence.map((e) => [e.match, e.flow.destination, e.flow.reason, e.flow.t]),
    [
      [
        'host',
        { host: BIGDATA, ip: '198.51.100.7', port: 443 },
        'tls-handshake-failed',
        T0 + 30_000,
      ],
      [
        'host',
        { host: BIGDATA, ip: '198.51.100.7', port: 443 },
        'tls-handshake-failed',
        T0 + 90_000,
      ],
    ],
  );
  assert.equal(diff.next.unreadFlows, 2);
  assert.match(
    diff.warnings.join('\n'),
    /in the next run capture could not read 2 flows to bigdata\.adups\.com \(tls-handshake-failed\)/,
  );
  // Channels in order: hidden before still leaking.
  assert.deepEqual(
    diff.channels.map((c) => c.status),
    ['hidden', 'hidden', 'hidden', 'hidden', 'hidden', 'still'],
  );
});

void test('without unread flows the same change is a fix, as before', () => {
  const diff = diffReports(base(), next([]));
  assert.deepEqual(diff.fixed.kinds, BIGDATA_KINDS);
  assert.deepEqual(diff.hidden, { kinds: [], channels: [] });
  assert.ok(diff.channels.every((c) => c.hiddenBy === undefined));
  assert.equal(diff.next.unreadFlows, 0);
});

void test('the same app over the same transport hides a leak; another app, transport or a read session does not', () => {
  const moved = opaqueFlow('collect.adups.net', { app: SYSOPER, t: T0 + 5 });
  const hidden = diffReports(base(), next([moved]));
  assert.deepEqual(hidden.hidden.kinds, BIGDATA_KINDS);
  assert.deepEqual(
    hidden.hidden.channels[0]?.hiddenBy?.evidence.map((e) => [e.match, e.flow.destination.host]),
    [['app', 'collect.adups.net']],
  );

  const notHiding: Array<[string, OpaqueFlowSummary]> = [
    ['another app', opaqueFlow('collect.adups.net', { app: 'com.example.other' })],
    ['no app', opaqueFlow('collect.adups.net')],
    ['another transport', opaqueFlow('collect.adups.net', { app: SYSOPER, protocol: 'udp' })],
    [
      'a session whose plaintext a hook searched',
      opaqueFlow(BIGDATA, { app: SYSOPER, plaintextFromHook: true }),
    ],
  ];
  for (const [what, flowSummary] of notHiding) {
    const diff = diffReports(base(), next([flowSummary]));
    assert.deepEqual(diff.fixed.kinds, BIGDATA_KINDS, what);
    assert.deepEqual(diff.hidden.kinds, [], what);
  }
});

void test('an SMS leak is not hidden by an unread TLS flow of its app', () => {
  const smsBase = buildReport(
    input(
      [
        {
          ...leak({ kind: 'sms_body', host: '+15550100', app: SYSOPER }),
          destination: { host: '+15550100', channel: 'sms' },
        },
      ],
      [],
    ),
  );
  const diff = diffReports(smsBase, next([opaqueFlow(BIGDATA, { app: SYSOPER })]));
  assert.deepEqual(diff.fixed.kinds, ['sms_body']);
});

void test('a kind gone on two channels, one hidden and one not, is hidden', () => {
  const twoWays = buildReport(
    input(
      [
        leak({ kind: 'imsi', host: BIGDATA, app: SYSOPER }),
        leak({ kind: 'imsi', host: 'log.adups.com', app: FOTA }),
      ],
      [],
    ),
  );
  const diff = diffReports(twoWays, next([opaqueFlow(BIGDATA)]));
  assert.equal(diff.kinds.find((k) => k.kind === 'imsi')?.status, 'hidden');
  assert.deepEqual(
    diff.channels.filter((c) => c.kind === 'imsi').map((c) => [c.host, c.status]),
    [
      ['log.adups.com', 'fixed'],
      [BIGDATA, 'hidden'],
    ],
  );
});

void test('text and page: hidden channels with their evidence, never counted as fixed', () => {
  const pinned = [opaqueFlow(BIGDATA, { app: SYSOPER, t: T0 + 30_000, ip: '198.51.100.7' })];
  const diff = diffReports(base(), next(pinned));
  const text = renderDiffText(diff);
  assert.match(text, /^sms_body +1 +0 +HIDDEN$/m);
  assert.match(text, /^HIDDEN: gone from next, but next sent flows capture could not read/m);
  assert.match(
    text,
    new RegExp(
      `^ +HIDDEN +sms_body +→ ${BIGDATA.replaceAll('.', '\\.')} +${SYSOPER.replaceAll('.', '\\.')} +1 → 0\n` +
        ` +unread in next, to the same host: .*tls → ${BIGDATA.replaceAll('.', '\\.')} \\(198\\.51\\.100\\.7:443\\) from ${SYSOPER.replaceAll('.', '\\.')}, 517 bytes sent, unread \\(tls-handshake-failed: tls-handshake:cert-rejected\\)$`,
      'm',
    ),
  );
  assert.match(text, /0 fixed, 4 hidden, 1 still leaking, 0 new \(canary kinds\)/);

  const page = renderDiffHtml(diff);
  assert.ok(page.includes('<td class="status-hidden">hidden</td>'));
  assert.ok(!page.includes('<td class="status-fixed">fixed</td>'));
  assert.match(page, /<h1>0 canary kinds fixed, 4 hidden, 1 still leaking, 0 new<\/h1>/);
  assert.match(
    page,
    /1 unread flow<ul><li>same host: tls to bigdata\.adups\.com <span class="mono">198\.51\.100\.7:443<\/span>/,
  );

  // Nothing leaks in next any more, yet a hidden kind keeps the headline from going green.
  const quiet = buildReport(input([], [], { opaque: pinned, run: { ...next(pinned).run } }));
  const onlyHidden = renderDiffHtml(diffReports(base(), quiet));
  assert.ok(onlyHidden.includes('class="verdict verdict-inconclusive"'));
});

void test('diffing a report written before unread flows were listed', () => {
  const old = JSON.parse(JSON.stringify(base())) as Record<string, unknown>;
  delete old.opaque;
  const parsed = parseReport(JSON.stringify(old), 'old.json');
  const diff = diffReports(parsed, next([opaqueFlow(BIGDATA)]));
  assert.deepEqual(diff.hidden.kinds, BIGDATA_KINDS);
  assert.equal(diff.base.unreadFlows, 0);
});
