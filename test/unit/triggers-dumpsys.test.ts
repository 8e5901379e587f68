import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDumpsysAlarm, parseDumpsysJobs } from '../../src/triggers/dumpsys.ts';

const ALARM_M = `Current Alarm Manager state:
  nowRTC=1479322356520=2016-11-16 19:52:36 nowELAPSED=3723456

  Pending alarm batches: 2
Batch{c3e4b0e num=1 start=262923456 end=262923456 flgs=0x1}:
    RTC_WAKEUP #0: Alarm{6a0f12f type 0 when 1479581556520 com.adups.fota.sysoper}
      tag=*walarm*:com.adups.fota.sysoper.bigdata-upload-72h
      type=0 whenElapsed=+71h59m59s0ms when=2016-11-19 19:52:36
      window=0 repeatInterval=259200000 count=0 flags=0x1
Batch{1b2c3d4 num=1 start=9000000 end=9000000 flgs=0x1}:
    ELAPSED_WAKEUP #0: Alarm{9e8f7a6 type 2 when 9000000 android}
      tag=*walarm*:com.android.server.action.NETWORK_STATS_POLL
`;

const ALARM_T = `    RTC_WAKEUP #0: Alarm{d5e3b2e type 0 origWhen 1700000000000 whenElapsed 123456 com.example.app}
      tag=*walarm*:sync`;

test('dumpsys alarm: Android 6–12 and 13+ alarm lines', () => {
  const alarms = parseDumpsysAlarm(ALARM_M);
  assert.deepEqual(alarms[0], {
    type: 0,
    when: 1479581556520,
    pkg: 'com.adups.fota.sysoper',
    tag: '*walarm*:com.adups.fota.sysoper.bigdata-upload-72h',
    repeatIntervalMs: 259200000,
  });
  assert.equal(alarms[1]?.pkg, 'android');
  assert.equal(alarms[1]?.type, 2);
  assert.deepEqual(
    parseDumpsysAlarm(ALARM_T).map((a) => [a.pkg, a.when]),
    [['com.example.app', 1700000000000]],
  );
});

test('dumpsys jobscheduler: registered jobs by package and id', () => {
  const text = `JOB SCHEDULER MANAGER (jobscheduler dump-service)
  Registered 2 jobs:
    JOB #u0a45/7001: 3f2b1c8 com.adups.fota/.CommandJobService
      u0a45 tag=*job*/com.adups.fota/.CommandJobService
      Source: uid=u0a45 user=0 pkg=com.adups.fota
    JOB #1000/12: 77aa11 android/com.android.server.pm.BackgroundDexOptService
`;
  assert.deepEqual(parseDumpsysJobs(text), [
    { uid: 'u0a45', jobId: 7001, pkg: 'com.adups.fota', service: '.CommandJobService' },
    {
      uid: '1000',
      jobId: 12,
      pkg: 'android',
      service: 'com.android.server.pm.BackgroundDexOptService',
    },
  ]);
});
