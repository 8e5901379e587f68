import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type LabDevice } from '../../src/lab/os/index.ts';
import { parseCommandLine } from '../../src/lab/os/shell/parse.ts';
import { makeLabDevice } from '../support/lab-device.ts';

const makeDevice = makeLabDevice;

function runner(device: LabDevice) {
  return async (line: string, root = false, stdin?: Buffer) => {
    const r = await device.shell.run(line, { root }, stdin);
    return { stdout: r.stdout.toString(), stderr: r.stderr.toString(), exitCode: r.exitCode };
  };
}

test('the parser splits words the way the device sh does', () => {
  const items = parseCommandLine(
    `echo 'a b' "c \\"d\\"" e\\ f; false || echo "x;y" && echo z | cat > /dev/null`,
  );
  const words = items.map((i) =>
    i.pipeline.map((c) => c.words.map((w) => w.map((p) => p.text).join(''))),
  );
  assert.deepEqual(words, [
    [['echo', 'a b', 'c "d"', 'e f']],
    [['false']],
    [['echo', 'x;y']],
    [['echo', 'z'], ['cat']],
  ]);
  assert.deepEqual(
    items.map((i) => i.connector),
    [';', ';', '||', '&&'],
  );
  assert.throws(() => parseCommandLine(`echo 'open`), /unterminated/);
});

test('getprop lists properties in the real format and answers single keys after boot', async (t) => {
  const device = await makeDevice(t);
  const sh = runner(device);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal((await sh('getprop sys.boot_completed')).stdout, '1\n');
  assert.equal((await sh('getprop init.svc.bootanim')).stdout, 'stopped\n');
  assert.equal((await sh('getprop ro.build.version.sdk')).stdout, '23\n');
  assert.equal((await sh('getprop ro.kernel.qemu')).stdout, '1\n');
  const all = (await sh('getprop')).stdout;
  assert.match(all, /^\[ro\.build\.display\.id\]: \[TEST_BUILD\]$/m);
  assert.match(all, /^\[ro\.product\.model\]: \[R1 HD\]$/m);
  assert.equal((await sh('setprop debug.lab 7 && getprop debug.lab')).stdout, '7\n');
});

test('content insert and query round-trip SMS with quoting, where and projection', async (t) => {
  const sh = runner(await makeDevice(t));
  assert.equal((await sh('content query --uri content://sms/inbox')).stdout, 'No result found.\n');
  const insert = await sh(
    `content insert --uri content://sms/inbox --bind address:s:5550100 --bind 'body:s:Your code is 4411: keep it' --bind date:l:1700000000000`,
  );
  assert.equal(insert.exitCode, 0, insert.stderr);
  await sh(
    `content insert --uri content://sms/sent --bind address:s:5550199 --bind "body:s:it's sent"`,
  );
  const inbox = await sh('content query --uri content://sms/inbox --projection _id:address:body');
  assert.equal(inbox.stdout, 'Row: 0 _id=1, address=5550100, body=Your code is 4411: keep it\n');
  const sent = await sh(
    `content query --uri content://sms --where "address='5550199'" --projection body:type`,
  );
  assert.equal(sent.stdout, "Row: 0 body=it's sent, type=2\n");
  const all = await sh('content query --uri content://sms --sort "_id DESC" --projection _id');
  assert.equal(all.stdout, 'Row: 0 _id=2\nRow: 1 _id=1\n');
  await sh('content delete --uri content://sms --where _id=1');
  assert.equal((await sh('content query --uri content://sms/inbox')).stdout, 'No result found.\n');
  const bad = await sh('content query --uri content://nowhere/items');
  assert.notEqual(bad.exitCode, 0);
  assert.match(bad.stderr, /Error while accessing provider:nowhere/);
});

test('contacts and the call log keep real columns and feed the behaviour host', async (t) => {
  const device = await makeDevice(t);
  const sh = runner(device);
  await sh(
    'content insert --uri content://com.android.contacts/raw_contacts --bind account_type:n: --bind account_name:n:',
  );
  await sh(
    `content insert --uri content://com.android.contacts/data --bind raw_contact_id:i:1 --bind mimetype:s:vnd.android.cursor.item/name --bind 'data1:s:Ada Lovelace'`,
  );
  await sh(
    'content insert --uri content://com.android.contacts/data --bind raw_contact_id:i:1 --bind mimetype:s:vnd.android.cursor.item/phone_v2 --bind data1:s:+15555550142 --bind data2:i:2',
  );
  await sh(
    'content insert --uri content://com.android.contacts/data --bind raw_contact_id:i:1 --bind mimetype:s:vnd.android.cursor.item/email_v2 --bind data1:s:ada@example.org',
  );
  await sh(
    'content insert --uri content://call_log/calls --bind number:s:5550123 --bind type:i:2 --bind date:l:1700000000000 --bind duration:i:42',
  );
  const contacts = await sh(
    'content query --uri content://com.android.contacts/contacts --projection _id:display_name',
  );
  assert.equal(contacts.stdout, 'Row: 0 _id=1, display_name=Ada Lovelace\n');
  assert.deepEqual(device.host.readContacts(), [
    { name: 'Ada Lovelace', phones: ['+15555550142'], emails: ['ada@example.org'] },
  ]);
  assert.deepEqual(device.host.readCallLog(), [
    { number: '5550123', type: 2, date: 1700000000000, duration: 42 },
  ]);
  const calls = await sh(
    'content query --uri content://call_log/calls --projection number:duration',
  );
  assert.equal(calls.stdout, 'Row: 0 number=5550123, duration=42\n');
});

test('unknown commands, chaining, exit codes, sh -c and redirections behave like mksh', async (t) => {
  const sh = runner(await makeDevice(t));
  const missing = await sh('frobnicate --now');
  assert.equal(missing.exitCode, 127);
  assert.equal(missing.stderr, '/system/bin/sh: frobnicate: not found\n');
  assert.equal((await sh('false && echo no || echo yes; echo $?')).stdout, 'yes\n0\n');
  assert.equal((await sh('exit 3; echo after')).exitCode, 3);
  assert.equal((await sh(`sh -c 'echo inner; exit 4'; echo outer $?`)).stdout, 'inner\nouter 4\n');
  assert.equal(
    (
      await sh(
        'echo hello > /data/local/tmp/a.txt; echo again >> /data/local/tmp/a.txt; cat /data/local/tmp/a.txt',
      )
    ).stdout,
    'hello\nagain\n',
  );
  assert.equal((await sh('cat /data/local/tmp/a.txt | grep again')).stdout, 'again\n');
  assert.match((await sh('id')).stdout, /^uid=2000\(shell\) gid=2000\(shell\)/);
  assert.match(
    (await sh('id', true)).stdout,
    /^uid=0\(root\) gid=0\(root\) groups=0\(root\).* context=u:r:su:s0\n$/,
  );
  assert.equal((await sh('which getprop')).stdout, '/system/bin/getprop\n');
  assert.equal((await sh('cat /nope')).stderr, 'cat: /nope: No such file or directory\n');
});

test('/system is read-only until remounted, then writes land in the overlay', async (t) => {
  const device = await makeDevice(t);
  const sh = runner(device);
  const denied = await sh(
    'mkdir -p /system/etc/security/cacerts && echo x > /system/etc/security/cacerts/a.0',
    true,
  );
  assert.notEqual(denied.exitCode, 0);
  assert.match(denied.stderr, /Read-only file system/);
  assert.equal((await sh('mount -o rw,remount /system')).exitCode, 1, 'needs root');
  assert.equal((await sh('mount -o rw,remount /system', true)).exitCode, 0);
  const pem = '-----BEGIN CERTIFICATE-----\nMIIBxyz\n-----END CERTIFICATE-----\n';
  await device.fileSystem.write(
    '/system/etc/security/cacerts/c8750f0d.0',
    Buffer.from(`${pem}Certificate:\n  Data: ...\n`),
    0o100644,
    0,
  );
  assert.deepEqual(await device.host.trustedCaCertificates(), [pem]);
  assert.equal((await sh('cat /system/build.prop')).stdout, 'ro.build.display.id=TEST_BUILD\n');
  const listing = await device.fileSystem.list('/system');
  assert.deepEqual(
    listing.map((e) => e.name),
    ['build.prop', 'etc'],
  );
  assert.equal(await device.fileSystem.stat('/vendor/x'), undefined);
  await assert.rejects(device.fileSystem.write('/vendor/x', Buffer.from('x'), 0o100644, 0), {
    code: 'EROFS',
  });
});

test('settings, pm and dumpsys package answer in the real formats', async (t) => {
  const device = await makeDevice(t);
  const sh = runner(device);
  assert.equal((await sh('settings get global device_provisioned')).stdout, '1\n');
  assert.equal((await sh('settings get system nothing_here')).stdout, 'null\n');
  await sh('settings put secure android_id 0123456789abcdef');
  assert.equal(device.host.identity().androidId, '0123456789abcdef');
  const packages = (await sh('pm list packages -f')).stdout;
  assert.match(
    packages,
    /^package:\/system\/priv-app\/FotaSysOper\/FotaSysOper\.apk=com\.adups\.fota\.sysoper$/m,
  );
  assert.match(packages, /^package:\/system\/framework\/framework-res\.apk=android$/m);
  assert.equal(
    (await sh('pm path com.adups.fota')).stdout,
    'package:/system/priv-app/AdupsFota/AdupsFota.apk\n',
  );
  assert.equal((await sh('pm path com.example.none')).exitCode, 1);
  const dump = (await sh('dumpsys package com.adups.fota')).stdout;
  assert.match(dump, /^ {4}versionName=5\.1\.0\.0\.1$/m);
  assert.match(dump, /^ {4}codePath=\/system\/priv-app\/AdupsFota$/m);
  const broadcast = await sh('am broadcast -a android.intent.action.BOOT_COMPLETED');
  assert.equal(
    broadcast.stdout,
    'Broadcasting: Intent { act=android.intent.action.BOOT_COMPLETED flg=0x400000 }\nBroadcast completed: result=0\n',
  );
});
