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

test('console sms send lands in the inbox and wakes SMS listeners', async (t) => {
  const device = await makeDevice(t);
  const heard: string[] = [];
  device.host.onSmsReceived((sms) => heard.push(`${sms.address}:${sms.body}`));
  assert.deepEqual(await device.console.handle('sms send 5550100 hello there, world'), {
    ok: true,
    output: '',
  });
  assert.deepEqual(heard, ['5550100:hello there, world']);
  const query = await runner(device)(
    'content query --uri content://sms/inbox --projection address:body:type',
  );
  assert.equal(query.stdout, 'Row: 0 address=5550100, body=hello there, world, type=1\n');
  assert.equal((await device.console.handle('frobnicate')).ok, false);
});

test('gsm calls end in the call log; geo fix sets the location; avd name answers', async (t) => {
  const device = await makeDevice(t);
  await device.console.handle('gsm call 5550111');
  assert.deepEqual(await device.console.handle('gsm list'), {
    ok: true,
    output: 'inbound from 5550111    : incoming',
  });
  await device.console.handle('gsm accept 5550111');
  await device.console.handle('gsm cancel 5550111');
  await device.console.handle('gsm call 5550112');
  await device.console.handle('gsm cancel 5550112');
  assert.deepEqual(
    device.host.readCallLog().map((c) => [c.number, c.type]),
    [
      ['5550111', 1],
      ['5550112', 3],
    ],
  );
  assert.equal((await device.console.handle('gsm accept 5550999')).ok, false);
  await device.console.handle('geo fix -122.084 37.422 10');
  assert.deepEqual(device.host.location(), { latitude: 37.422, longitude: -122.084 });
  assert.deepEqual(await device.console.handle('avd name'), { ok: true, output: 'lab_test' });
  assert.deepEqual(await device.console.handle('power capacity 50'), { ok: true, output: '' });
});

test('identity comes from identity.json when present, emulator defaults otherwise', async (t) => {
  const device = await makeDevice(t);
  assert.equal(device.host.identity().imei, '358240051111110');
  assert.equal(device.host.identity().phoneNumber, '15555215584');
  await device.fileSystem.write(
    '/data/local/tmp/canarytrap/identity.json',
    Buffer.from(
      JSON.stringify({
        imei: '490154203237518',
        imsi: '001010123456789',
        accounts: ['lab@example.org'],
      }),
    ),
    0o100644,
    0,
  );
  const identity = device.host.identity();
  assert.equal(identity.imei, '490154203237518');
  assert.equal(identity.imsi, '001010123456789');
  assert.deepEqual(identity.accounts, ['lab@example.org']);
  assert.equal(identity.iccid, '89014103211118510720');
});

test('emitted events go to memory and to events.jsonl on the device', async (t) => {
  const device = await makeDevice(t);
  const pid = device.host.pidOf('com.adups.fota');
  assert.equal(device.host.pidOf('com.adups.fota'), pid);
  device.host.emit({
    t: device.host.now(),
    source: 'lab',
    type: 'dns.query',
    pid,
    package: 'com.adups.fota',
    name: 'bigdata.adups.com',
  });
  device.host.emit({
    t: device.host.now(),
    source: 'lab',
    type: 'exec',
    pid,
    package: 'com.adups.fota',
    command: 'id',
  });
  const lines = (await device.fileSystem.read('/data/local/tmp/canarytrap/events.jsonl'))
    .toString()
    .trim()
    .split('\n');
  assert.deepEqual(
    lines.map((l) => (JSON.parse(l) as { type: string }).type),
    ['dns.query', 'exec'],
  );
  assert.equal(device.os.events.events().length, 2);
  assert.match(
    (await runner(device)('ps -A')).stdout,
    new RegExp(`\\b${pid}\\b.* com\\.adups\\.fota\\n`),
  );
});
