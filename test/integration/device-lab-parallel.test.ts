import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateCanaries, type PlantPlan } from '../../src/canary/generate.ts';
import { plantCanaries } from '../../src/canary/plant.ts';
import { waitForQuiet, type CaptureSession } from '../../src/capture/index.ts';
import type { Device } from '../../src/device/device.ts';
import { prepareDevice } from '../../src/device/prepare.ts';
import { parseContentRows } from '../../src/device/shell-quote.ts';
import { silentLogger } from '../../src/log.ts';
import { advanceDeviceTime } from '../../src/triggers/advance.ts';
import { readDeviceTime } from '../../src/triggers/clock.ts';
import { isWallClockAlarm, parseDumpsysAlarm } from '../../src/triggers/dumpsys.ts';
import {
  canBind,
  exists,
  findLabPhoneProcesses,
  type LabPhoneProcess,
} from '../support/leftovers.ts';
import { startLabBench, type LabBench } from '../support/lab-bench.ts';

const UPLOAD_URL = 'https://bigdata.adups.com/bigdata/upload';
const HOUR = 3_600_000;
const logger = silentLogger();

interface PhoneOutcome {
  consolePort: number;
  adbPort: number;
  process: LabPhoneProcess;
  /** Wall time of advanceDeviceTime. */
  advanceMs: number;
  /** Device time the suspect's 72-hour upload alarm was due, read from `dumpsys alarm`. */
  alarmDue: number;
  /** After each settle: the device clock and how many uploads the capture had seen by then. */
  samples: Array<{ deviceTime: number; uploads: number }>;
  uploads: number;
}

function countUploads(capture: CaptureSession): number {
  return capture.flows().filter((f) => f.request?.method === 'POST' && f.request.url === UPLOAD_URL)
    .length;
}

async function queryRows(device: Device, uri: string, columns: string[]) {
  const { stdout } = await device.shell(
    `content query --uri ${uri} --projection ${columns.join(':')}`,
  );
  return parseContentRows(stdout, columns);
}

/** Reads each planted value back through the providers, independently of plantCanaries. */
async function assertCanariesReadBack(device: Device, plan: PlantPlan): Promise<void> {
  const sms = await queryRows(device, 'content://sms', ['address', 'body']);
  for (const planted of [...plan.smsInbox, ...plan.smsSent])
    assert.ok(
      sms.some((row) => row['body'] === planted.body),
      `${device.serial}: SMS "${planted.body}" not in ${JSON.stringify(sms)}`,
    );
  const contacts = await queryRows(device, 'content://com.android.contacts/data', [
    'mimetype',
    'data1',
  ]);
  const values = new Set(contacts.map((row) => row['data1']));
  for (const contact of plan.contacts)
    for (const value of [contact.name, contact.phone, contact.email])
      assert.ok(values.has(value), `${device.serial}: contact value ${value} missing`);
  const calls = await queryRows(device, 'content://call_log/calls', ['number', 'type']);
  const numbers = new Set(calls.map((row) => (row['number'] ?? '').replace(/^\+/, '')));
  for (const call of plan.calls)
    assert.ok(
      numbers.has(call.number.replace(/^\+/, '')),
      `${device.serial}: call ${call.number} missing from ${JSON.stringify(calls)}`,
    );
  const androidId = (await device.shell('settings get secure android_id')).stdout.trim();
  assert.equal(androidId, plan.identity.androidId);
}

async function exercisePhone(index: number, bench: LabBench): Promise<PhoneOutcome> {
  const canaries = generateCanaries({ runId: `parallel-${index}`, perProvider: 3 });
  const { image, capture, device } = await bench.boot('adups-2016', {
    runName: `run-${index}`,
    phoneNumber: canaries.plan.identity.phoneNumber,
  });
  try {
    const [labProcess] = await findLabPhoneProcesses(new Set([device.consolePort]));
    assert.ok(labProcess, `no lab-phone process on console port ${device.consolePort}`);
    const bootedAt = await readDeviceTime(device);
    await prepareDevice(device, {
      caCertificatePem: capture.caCertificatePem,
      caSubjectHashOld: capture.caSubjectHashOld,
      logger,
    });
    await plantCanaries(device, canaries.plan, logger);
    await assertCanariesReadBack(device, canaries.plan);

    const packages = new Set(image.inventory.apps.map((app) => app.package));
    // The repeating alarm of the suspect's upload (the boot upload has a one-shot alarm).
    const alarms = parseDumpsysAlarm((await device.shell('dumpsys alarm')).stdout).filter(
      (a) =>
        a.pkg === 'com.adups.fota.sysoper' &&
        isWallClockAlarm(a) &&
        a.repeatIntervalMs === 72 * HOUR,
    );
    assert.equal(alarms.length, 1, `${device.serial}: ${JSON.stringify(alarms)}`);
    const alarmDue = alarms[0]?.when ?? Number.NaN;
    assert.ok(
      alarmDue - bootedAt >= 72 * HOUR - 60_000 && alarmDue - bootedAt <= 72 * HOUR + 60_000,
      `the upload alarm is due ${((alarmDue - bootedAt) / HOUR).toFixed(2)} h after boot`,
    );
    const samples: PhoneOutcome['samples'] = [];
    const startedAt = performance.now();
    await advanceDeviceTime(device, {
      packages,
      horizonHours: 76,
      stepHours: 12,
      settle: async () => {
        await waitForQuiet(capture, { quietMs: 800, maxMs: 8_000 });
        samples.push({ deviceTime: await readDeviceTime(device), uploads: countUploads(capture) });
      },
      logger,
    });
    const advanceMs = performance.now() - startedAt;
    const outcome: PhoneOutcome = {
      consolePort: device.consolePort,
      adbPort: device.adbPort,
      process: labProcess,
      advanceMs,
      alarmDue,
      samples,
      uploads: countUploads(capture),
    };
    await device.stop();
    return outcome;
  } finally {
    await capture.stop();
  }
}

test(
  'three lab phones in parallel: canaries planted and read back, the 72-hour upload fires in seconds, nothing left behind',
  { timeout: 90_000 },
  async (t) => {
    const bench = await startLabBench(t, 'device-lab-parallel');

    const outcomes = await Promise.all([0, 1, 2].map((i) => exercisePhone(i, bench)));

    const consolePorts = new Set(outcomes.map((o) => o.consolePort));
    assert.equal(consolePorts.size, 3, 'each phone has its own console port');
    for (const o of outcomes) {
      assert.ok(o.advanceMs < 60_000, `advancing 76 h took ${o.advanceMs.toFixed(0)} ms`);
      const beforeAlarm = o.samples.filter((s) => s.deviceTime < o.alarmDue);
      const afterAlarm = o.samples.find((s) => s.deviceTime >= o.alarmDue);
      assert.ok(afterAlarm, `the clock never passed the alarm: ${JSON.stringify(o.samples)}`);
      // The boot upload is the only one before 72 h; the next comes once the clock passes it.
      assert.ok(
        beforeAlarm.every((s) => s.uploads <= 1),
        `uploads before 72 h: ${JSON.stringify(o.samples)}`,
      );
      assert.ok(afterAlarm.uploads >= 2, `no 72-hour upload: ${JSON.stringify(o.samples)}`);
      assert.ok(o.uploads >= 2);
    }

    // Teardown left nothing: processes, ports, lock files, temp dirs.
    assert.deepEqual(await findLabPhoneProcesses(consolePorts), []);
    for (const o of outcomes) {
      assert.throws(() => process.kill(o.process.pid, 0), { code: 'ESRCH' });
      assert.ok(await canBind(o.consolePort), `console port ${o.consolePort} still bound`);
      assert.ok(await canBind(o.adbPort), `adb port ${o.adbPort} still bound`);
      assert.ok(o.process.workDir?.includes('canarytrap-lab-phone-'), o.process.workDir);
      assert.equal(await exists(o.process.workDir ?? ''), false, `${o.process.workDir} remains`);
    }
    assert.deepEqual(await readdir(join(bench.root, 'leases')), [], 'lease lock files remain');
  },
);
