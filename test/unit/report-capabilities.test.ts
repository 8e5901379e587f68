import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Leak } from '../../src/correlate/types.ts';
import { buildReport } from '../../src/report/build.ts';
import { diffReports } from '../../src/report/diff.ts';
import { renderDiffHtml } from '../../src/report/diff-html.ts';
import { renderDiffText } from '../../src/report/diff-text.ts';
import type { Report } from '../../src/report/model.ts';
import {
  adupsFixedLeaks,
  adupsLeaks,
  BIGDATA,
  flow,
  FOTA,
  FOTA_HOST,
  input,
  leak,
  SYSOPER,
  T0,
} from '../support/report-fixtures.ts';

const COMMAND_HOST = 'rebootv5.adsunflower.com';

/** Findings as intake writes them (src/intake/indicators.ts), for the two ADUPS images. */
function adupsInventory(fixed: boolean): unknown {
  const installer = (pkg: string) => ({
    ruleId: 'system-uid-installer-with-internet',
    severity: 'medium',
    title: 'App running as the system user that can install packages and reach the network',
    package: pkg,
    path: `/system/app/${pkg}.apk`,
    evidence: [
      { kind: 'sharedUserId', value: 'android.uid.system' },
      { kind: 'permission', value: 'android.permission.INSTALL_PACKAGES' },
      { kind: 'permission', value: 'android.permission.INTERNET' },
    ],
  });
  const hosts = {
    ruleId: 'adups-hosts',
    severity: 'high',
    title: 'ADUPS data-collection or command host',
    package: FOTA,
    path: '/system/app/Fota.apk',
    evidence: [
      { kind: 'host', value: FOTA_HOST },
      { kind: 'url', value: `https://${COMMAND_HOST}/rs/cmd/poll` },
    ],
  };
  const sms = {
    ruleId: 'system-app-sends-sms-silently',
    severity: 'medium',
    title: 'System app that can send SMS without the user',
    package: SYSOPER,
    path: '/system/app/Sysoper.apk',
    evidence: [
      { kind: 'permission', value: 'android.permission.SEND_SMS' },
      { kind: 'permission', value: 'android.permission.RECEIVE_SMS' },
    ],
  };
  return {
    apps: [{ package: FOTA }, { package: SYSOPER }],
    findings: fixed ? [installer(FOTA), hosts] : [installer(FOTA), installer(SYSOPER), hosts, sms],
  };
}

function commandPolls(): Leak[] {
  return [0, 1, 2].map((i) =>
    leak({
      kind: 'serial',
      host: COMMAND_HOST,
      app: FOTA,
      t: T0 + 2000 + i,
      url: `https://${COMMAND_HOST}/rs/cmd/poll`,
    }),
  );
}

function pollFlows() {
  return [0, 1, 2].map((i) => flow(COMMAND_HOST, { t: T0 + 2000 + i, app: FOTA }));
}

function adups(): Report {
  return buildReport(
    input([...adupsLeaks(), ...commandPolls()], [flow(BIGDATA), ...pollFlows()], {
      inventory: adupsInventory(false),
    }),
  );
}

function adupsFixed(): Report {
  return buildReport(
    input([...adupsFixedLeaks(), ...commandPolls()], [flow(FOTA_HOST), ...pollFlows()], {
      inventory: adupsInventory(true),
    }),
  );
}

void test('the vendor fix keeps remote commands and silent installs; the hidden SMS channel goes', () => {
  const diff = diffReports(adups(), adupsFixed());
  const byId = new Map(diff.capabilities.map((c) => [c.id, c]));

  const commands = byId.get('remote-commands');
  assert.equal(commands?.status, 'still');
  assert.ok(
    commands.next.evidence.some(
      (e) => e.startsWith('indicator adups-hosts') && e.includes(COMMAND_HOST),
    ),
  );
  assert.ok(
    commands.next.evidence.some((e) => e === `observed: polled ${COMMAND_HOST} 3× (/rs/cmd/poll)`),
    commands.next.evidence.join('\n'),
  );

  const installs = byId.get('silent-installs');
  assert.equal(installs?.status, 'still');
  assert.equal(installs.base.evidence.length, 2, 'both system-uid installers in base');
  assert.equal(installs.next.evidence.length, 1);
  assert.match(
    installs.next.evidence[0] ?? '',
    /system-uid-installer-with-internet in com\.adups\.fota:/,
  );

  assert.equal(byId.get('hidden-sms')?.status, 'fixed');
  assert.equal(byId.get('remote-content-control')?.status, 'none');

  const text = renderDiffText(diff);
  assert.match(text, /still present +Remote commands: yes → yes/);
  assert.match(text, /still present +Silent installs: yes → yes/);
  assert.match(text, /removed +Hidden SMS: yes → no/);

  const html = renderDiffHtml(diff);
  const section = html.slice(html.indexOf('<section id="capabilities">'));
  assert.match(
    section,
    /<tr id="capability-remote-commands"><td>Remote commands<\/td><td class="status-still">still present<\/td>/,
  );
  assert.match(
    section,
    /<tr id="capability-hidden-sms"><td>Hidden SMS<\/td><td class="status-fixed">removed<\/td>/,
  );
  assert.ok(section.includes(`observed: polled ${COMMAND_HOST} 3× (/rs/cmd/poll)`));

  const json = JSON.parse(JSON.stringify(diff)) as typeof diff;
  assert.deepEqual(
    json.capabilities.map((c) => [c.id, c.base.present, c.next.present, c.status]),
    [
      ['remote-commands', true, true, 'still'],
      ['silent-installs', true, true, 'still'],
      ['hidden-sms', true, false, 'fixed'],
      ['remote-content-control', false, false, 'none'],
    ],
  );
});

void test('behaviour alone shows a capability: command polling on an unknown host, an SMS leak', () => {
  const quiet = buildReport(input([], [flow('update.example.org')]));
  const polling = [0, 1].map((i) =>
    leak({
      kind: 'android_id',
      host: 'c2.example.net',
      t: T0 + i,
      url: 'https://c2.example.net/api/tasks?id=1',
    }),
  );
  const smsLeak = leak({ kind: 'imsi', host: 'unused', app: 'com.miui.cloudservice', t: T0 + 5 });
  smsLeak.destination = { channel: 'sms' };
  delete smsLeak.http;
  const busy = buildReport(
    input(
      [...polling, smsLeak],
      [flow('c2.example.net', { t: T0 }), flow('c2.example.net', { t: T0 + 1 })],
    ),
  );
  const byId = new Map(diffReports(quiet, busy).capabilities.map((c) => [c.id, c]));
  assert.equal(byId.get('remote-commands')?.status, 'new');
  assert.deepEqual(byId.get('remote-commands')?.next.evidence, [
    'observed: polled c2.example.net 2× (/api/tasks)',
  ]);
  assert.equal(byId.get('hidden-sms')?.status, 'new');
  assert.deepEqual(byId.get('hidden-sms')?.next.evidence, [
    'observed: 1 canary sent by sms from com.miui.cloudservice',
  ]);
  // One request to a task path is not polling; an update check with no command path is not either.
  const once = buildReport(input([polling[0] as Leak], [flow('c2.example.net')]));
  assert.equal(
    diffReports(quiet, once).capabilities.find((c) => c.id === 'remote-commands')?.status,
    'none',
  );
});

void test('a content-blocking config host is present when flagged in the inventory and contacted', () => {
  const inventory = {
    findings: [
      {
        ruleId: 'vendor-remote-content-control-hosts',
        package: 'com.miui.securitycenter',
        evidence: [{ kind: 'host', value: 'api.sec.miui.com' }],
      },
      { ruleId: 'unrelated', evidence: 'not an array' },
      'not an object',
    ],
  };
  const report = buildReport(input([], [flow('api.sec.miui.com')], { inventory }));
  const none = buildReport(input([], []));
  const control = diffReports(report, none).capabilities.find(
    (c) => c.id === 'remote-content-control',
  );
  assert.equal(control?.status, 'fixed');
  assert.deepEqual(control?.base.evidence, [
    'indicator vendor-remote-content-control-hosts in com.miui.securitycenter: host api.sec.miui.com',
    'observed: contacted api.sec.miui.com 1×',
  ]);
});
