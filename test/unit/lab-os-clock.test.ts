import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type LabDevice } from '../../src/lab/os/index.ts';
import { makeLabDevice } from '../support/lab-device.ts';

const makeDevice = makeLabDevice;

function runner(device: LabDevice) {
  return async (line: string, root = false, stdin?: Buffer) => {
    const r = await device.shell.run(line, { root }, stdin);
    return { stdout: r.stdout.toString(), stderr: r.stderr.toString(), exitCode: r.exitCode };
  };
}

const HOUR = 3_600_000;

async function settle(device: LabDevice): Promise<void> {
  await device.os.runner.idle();
}

test('date prints toybox format and +%s; root can set it', async (t) => {
  const device = await makeDevice(t);
  const sh = runner(device);
  assert.match(
    (await sh('date')).stdout,
    /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} UTC \d{4}\n$/,
  );
  assert.equal((await sh('date @1479322356')).exitCode, 1, 'shell may not set the clock');
  assert.equal((await sh('date @1479322356', true)).stdout, 'Wed Nov 16 18:52:36 UTC 2016\n');
  const seconds = Number((await sh('date +%s')).stdout);
  assert.ok(Math.abs(seconds - 1479322356) <= 2, `date +%s gave ${seconds}`);
});

test('moving the clock fires due alarms in time order; repeating ones reschedule', async (t) => {
  const device = await makeDevice(t);
  const sh = runner(device);
  const fired: string[] = [];
  const start = device.host.now();
  device.host.setAlarm('com.adups.fota.sysoper', 'upload', start + 72 * HOUR, 72 * HOUR, {
    run: async () => void fired.push('upload'),
  });
  device.host.setAlarm('com.adups.fota', 'check', start + 2 * HOUR, 0, {
    run: async () => void fired.push('check'),
  });
  const dump = (await sh('dumpsys alarm')).stdout;
  assert.match(dump, /^ {2}nowRTC=\d+=\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} nowELAPSED=\d+$/m);
  assert.match(
    dump,
    /^ {4}RTC_WAKEUP #0: Alarm\{[0-9a-f]+ type 0 when \d+ com\.adups\.fota\.sysoper\}$/m,
  );
  assert.match(dump, /^ {6}tag=\*walarm\*:upload$/m);
  assert.match(
    dump,
    /^ {6}type=0 whenElapsed=\+(?:3d0h0m0s\d+ms|2d23h59m59s\d+ms) when=\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/m,
  );
  assert.match(dump, /^ {6}window=0 repeatInterval=259200000 count=0 flags=0x1$/m);
  const set = await sh(`cmd alarm set-time ${start + 73 * HOUR}`, true);
  assert.equal(set.exitCode, 0);
  await settle(device);
  assert.deepEqual(fired, ['check', 'upload']);
  const after = (await sh('dumpsys alarm')).stdout;
  assert.match(after, /Pending alarm batches: 1/);
  assert.match(after, /repeatInterval=259200000 count=1 /);
  await sh(`cmd alarm set-time ${start + 73 * HOUR + 7 * 72 * HOUR}`, true);
  await settle(device);
  assert.deepEqual(fired, ['check', 'upload', 'upload'], 'missed intervals fire once');
});

test('forced idle holds alarms back until unforced', async (t) => {
  const device = await makeDevice(t);
  const sh = runner(device);
  const fired: string[] = [];
  const start = device.host.now();
  device.host.setAlarm('com.adups.fota', 'poll', start + HOUR, 0, {
    run: async () => void fired.push('poll'),
  });
  assert.equal(
    (await sh('dumpsys deviceidle force-idle')).stdout,
    'Now forced in to deep idle mode\n',
  );
  await sh(`cmd alarm set-time ${start + 2 * HOUR}`);
  await settle(device);
  assert.deepEqual(fired, []);
  assert.equal(
    (await sh('dumpsys deviceidle unforce')).stdout,
    'Light state: ACTIVE, deep state: ACTIVE\n',
  );
  await settle(device);
  assert.deepEqual(fired, ['poll']);
  assert.equal((await sh('dumpsys deviceidle step')).stdout, 'Stepped to deep: IDLE_PENDING\n');
});

test('jobs show in dumpsys jobscheduler, run when forced and when their period passes', async (t) => {
  const device = await makeDevice(t);
  const sh = runner(device);
  let runs = 0;
  device.host.scheduleJob('com.adups.fota', 7001, 'com.adups.fota.CommandJobService', 24 * HOUR, {
    run: async () => void runs++,
  });
  const dump = (await sh('dumpsys jobscheduler')).stdout;
  assert.match(dump, /^ {2}Registered 1 jobs:$/m);
  assert.match(dump, /^ {4}JOB #1000\/7001: [0-9a-f]+ com\.adups\.fota\/\.CommandJobService$/m);
  assert.match(dump, /^ {6}Source: uid=1000 user=0 pkg=com\.adups\.fota$/m);
  assert.match(dump, /^ {8}PERIODIC: interval=\+1d0h0m0s0ms flex=\+1d0h0m0s0ms$/m);
  assert.equal(
    (await sh('cmd jobscheduler run -f com.adups.fota 7001')).stdout,
    'Running job [FORCED]\n',
  );
  const noJob = await sh('cmd jobscheduler run -f com.adups.fota 9');
  assert.equal(noJob.stdout, 'Could not find job 9 in package com.adups.fota / user 0\n');
  assert.notEqual(noJob.exitCode, 0);
  assert.equal(
    (await sh('cmd jobscheduler run -f com.example.none 1')).stdout,
    'Package not found: com.example.none / user 0\n',
  );
  await settle(device);
  assert.equal(runs, 1);
  await sh(`cmd alarm set-time ${device.host.now() + 25 * HOUR}`);
  await settle(device);
  assert.equal(runs, 2);
});
