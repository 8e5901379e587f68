import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { subjectHashOld } from '../../src/capture/index.ts';
import type { LabDevice } from '../../src/lab/os/index.ts';
import { parseCommandLine } from '../../src/lab/os/shell/parse.ts';
import { makeLabDevice } from '../support/lab-device.ts';

const TMP = '/data/local/tmp';
const CACERTS = '/system/etc/security/cacerts';

function runner(device: LabDevice) {
  return async (line: string, root = false) => {
    const r = await device.shell.run(line, { root });
    return { stdout: r.stdout.toString(), stderr: r.stderr.toString(), exitCode: r.exitCode };
  };
}

async function withFiles(device: LabDevice): Promise<void> {
  for (const name of ['b.txt', 'a.txt', 'c.log', '.hidden', 'sub/d.txt'])
    await device.fileSystem.write(`${TMP}/${name}`, Buffer.from(`${name}\n`), 0o100644, 0);
}

async function baseCaNames(): Promise<string[]> {
  return (await readdir('images/lab/cacerts')).filter((n) => n.endsWith('.0')).sort();
}

test('the parser marks quoted text, so only unquoted wildcards are patterns', () => {
  const [item] = parseCommandLine(`echo a*"b*"\\*c 'd?'`);
  const words = item?.pipeline[0]?.words ?? [];
  assert.deepEqual(words[1], [{ text: 'a*' }, { text: 'b**', quoted: true }, { text: 'c' }]);
  assert.deepEqual(words[2], [{ text: 'd?', quoted: true }]);
});

test('globs expand against the lab fs, sorted, without dot files; no match stays literal', async (t) => {
  const device = await makeLabDevice(t);
  const sh = runner(device);
  await withFiles(device);
  assert.equal((await sh(`echo ${TMP}/*.txt`)).stdout, `${TMP}/a.txt ${TMP}/b.txt\n`);
  assert.equal(
    (await sh(`echo ${TMP}/*`)).stdout,
    `${TMP}/a.txt ${TMP}/b.txt ${TMP}/c.log ${TMP}/sub\n`,
  );
  assert.equal(
    (await sh(`echo ${TMP}/?.log ${TMP}/[ab].txt`)).stdout.trim(),
    [`${TMP}/c.log`, `${TMP}/a.txt`, `${TMP}/b.txt`].join(' '),
  );
  assert.equal((await sh(`echo ${TMP}/[!a].txt`)).stdout, `${TMP}/b.txt\n`);
  assert.equal((await sh(`echo ${TMP}/[a-b].*`)).stdout, `${TMP}/a.txt ${TMP}/b.txt\n`);
  assert.equal((await sh(`echo ${TMP}/.*`)).stdout, `${TMP}/.hidden\n`);
  assert.equal((await sh(`echo ${TMP}/*/d.*`)).stdout, `${TMP}/sub/d.txt\n`);
  assert.equal((await sh(`echo ${TMP}/*/`)).stdout, `${TMP}/sub/\n`);
  assert.equal((await sh(`echo "${TMP}/"*.log`)).stdout, `${TMP}/c.log\n`);
  // Quoted or escaped wildcards are plain characters.
  assert.equal((await sh(`echo '${TMP}/*.txt'`)).stdout, `${TMP}/*.txt\n`);
  assert.equal((await sh(`echo ${TMP}/\\*.txt`)).stdout, `${TMP}/*.txt\n`);
  // No match: the word stays as written and the command sees the pattern.
  assert.equal((await sh(`echo ${TMP}/*.none`)).stdout, `${TMP}/*.none\n`);
  const missing = await sh(`ls ${TMP}/*.none`);
  assert.equal(missing.exitCode, 1);
  assert.equal(missing.stderr, `ls: ${TMP}/*.none: No such file or directory\n`);
  assert.equal((await sh(`cat ${TMP}/*.txt`)).stdout, 'a.txt\nb.txt\n');
});

test('cp copies several sources into a directory and words its errors like toybox', async (t) => {
  const device = await makeLabDevice(t);
  const sh = runner(device);
  await withFiles(device);
  await sh(`chmod 755 ${TMP}/a.txt`);
  const copied = await sh(`cp ${TMP}/*.txt ${TMP}/c.log ${TMP}/sub/`);
  assert.equal(copied.exitCode, 0, copied.stderr);
  assert.equal((await sh(`ls ${TMP}/sub`)).stdout, 'a.txt\nb.txt\nc.log\nd.txt\n');
  assert.equal((await sh(`cat ${TMP}/sub/b.txt`)).stdout, 'b.txt\n');
  assert.match((await sh(`ls -l ${TMP}/sub/a.txt`)).stdout, /^-rwxr-xr-x /, 'mode kept');

  const notDir = await sh(`cp ${TMP}/a.txt ${TMP}/b.txt ${TMP}/c.log`);
  assert.deepEqual(notDir, {
    stdout: '',
    stderr: `cp: '${TMP}/c.log' not directory\n`,
    exitCode: 1,
  });
  const partly = await sh(`cp ${TMP}/nope ${TMP}/c.log ${TMP}/sub /sdcard/`);
  assert.equal(partly.exitCode, 1);
  assert.equal(
    partly.stderr,
    `cp: bad '${TMP}/nope': No such file or directory\ncp: Skipped dir '/sdcard//sub'\n`,
  );
  assert.equal((await sh('cat /sdcard/c.log')).stdout, 'c.log\n', 'the good source is copied');
  assert.equal(
    (await sh(`cp ${TMP}/a.txt /system/x.txt`, true)).stderr,
    'cp: /system/x.txt: Read-only file system\n',
  );
  assert.equal((await sh(`cp ${TMP}/a.txt`)).stderr, 'cp: Need 2 arguments\n');
});

test('mount -t tmpfs hides the system CA store for shell, sync and the CA trust until umount', async (t) => {
  const device = await makeLabDevice(t, { cacerts: true });
  const sh = runner(device);
  const base = await baseCaNames();
  assert.ok(base.length >= 3, `base CA store: ${base.join(', ')}`);
  assert.equal((await sh(`ls ${CACERTS}`)).stdout, base.map((n) => `${n}\n`).join(''));
  assert.equal((await device.host.trustedCaCertificates()).length, base.length);

  const denied = await sh(`mount -t tmpfs tmpfs ${CACERTS}`);
  assert.equal(denied.exitCode, 1);
  assert.equal(denied.stderr, `mount: '${CACERTS}' not in fstab\n`);

  assert.equal((await sh(`mount -t tmpfs tmpfs ${CACERTS}`, true)).exitCode, 0);
  assert.equal((await sh(`ls ${CACERTS}`)).stdout, '', 'the tmpfs starts empty');
  assert.deepEqual(await device.fileSystem.list(CACERTS), [], 'adb sync sees the tmpfs too');
  assert.deepEqual(await device.host.trustedCaCertificates(), [], 'and so does the CA trust');
  assert.match((await sh(`ls -ld ${CACERTS}`)).stdout, /^drwxrwxrwt /);
  assert.match(
    (await sh('mount')).stdout,
    /^tmpfs on \/system\/etc\/security\/cacerts type tmpfs \(rw,seclabel,relatime,mode=1777\)$/m,
  );
  assert.match((await sh('mount')).stdout, /^\/dev\/block\/vda on \/system type ext4 \(ro,/m);
  assert.match(
    (await sh('cat /proc/mounts')).stdout,
    /^tmpfs \/system\/etc\/security\/cacerts tmpfs rw,seclabel,relatime,mode=1777 0 0$/m,
  );

  // The tmpfs is writable although /system stays read-only around it.
  const pem = '-----BEGIN CERTIFICATE-----\nMIIBrun\n-----END CERTIFICATE-----\n';
  await device.fileSystem.write(`${CACERTS}/0badc0de.0`, Buffer.from(pem), 0o100644, 0);
  assert.deepEqual(await device.host.trustedCaCertificates(), [pem]);
  assert.match((await sh('touch /system/etc/x', true)).stderr, /Read-only file system/);
  const busy = await sh(`rm -rf ${CACERTS}`, true);
  assert.equal(busy.stderr, `rm: ${CACERTS}: Device or resource busy\n`);

  assert.equal(
    (await sh(`umount ${CACERTS}`)).stderr,
    `umount: ${CACERTS}: Operation not permitted\n`,
  );
  assert.equal((await sh(`umount ${CACERTS}`, true)).exitCode, 0);
  assert.equal((await sh(`ls ${CACERTS}`)).stdout, base.map((n) => `${n}\n`).join(''));
  assert.equal((await device.host.trustedCaCertificates()).length, base.length);
  assert.doesNotMatch((await sh('mount')).stdout, /tmpfs/);
  assert.equal(
    (await sh(`umount ${CACERTS}`, true)).stderr,
    `umount: ${CACERTS}: Invalid argument\n`,
  );
  assert.equal(
    (await sh(`mount -t tmpfs tmpfs ${TMP}/none`, true)).stderr,
    `mount: 'tmpfs'->'${TMP}/none': No such file or directory\n`,
  );
});

test('tmpfs options: mode and size are kept, ro refuses writes', async (t) => {
  const device = await makeLabDevice(t);
  const sh = runner(device);
  await withFiles(device);
  assert.equal((await sh(`mount -t tmpfs -o size=1M,mode=755 tmpfs ${TMP}/sub`, true)).exitCode, 0);
  assert.match((await sh(`ls -ld ${TMP}/sub`)).stdout, /^drwxr-xr-x /);
  assert.match(
    (await sh('mount -t tmpfs')).stdout,
    /^tmpfs on \/data\/local\/tmp\/sub type tmpfs \(rw,seclabel,relatime,size=1M,mode=755\)\n$/,
  );
  assert.equal((await sh(`mount -t tmpfs -o ro tmpfs ${TMP}/sub`, true)).exitCode, 0);
  assert.equal(
    (await sh(`echo x > ${TMP}/sub/f`)).stderr,
    `/system/bin/sh: can't create ${TMP}/sub/f: Read-only file system\n`,
  );
  assert.equal((await sh(`umount ${TMP}/sub && echo ok > ${TMP}/sub/f`, true)).exitCode, 0);
  assert.equal((await sh(`umount ${TMP}/sub && ls ${TMP}/sub`, true)).stdout, 'd.txt\n');
  assert.equal(
    (await sh(`mount -t ext4 /dev/block/vdc ${TMP}/sub`, true)).stderr,
    `mount: '/dev/block/vdc'->'${TMP}/sub': No such device\n`,
  );
});

test('chown and chcon record owner and label; ls -l, -n and -Z show them', async (t) => {
  const device = await makeLabDevice(t, { cacerts: true });
  const sh = runner(device);
  await withFiles(device);
  const file = `${TMP}/a.txt`;
  assert.match(
    (await sh(`ls -l ${file}`)).stdout,
    /^-rw-r--r-- 1 shell shell 6 \S+ \S+ \/data\/local\/tmp\/a\.txt\n$/,
  );
  assert.match((await sh(`ls -n ${file}`)).stdout, /^-rw-r--r-- 1 2000 2000 6 /);
  assert.equal((await sh(`ls -Z ${file}`)).stdout, `u:object_r:shell_data_file:s0 ${file}\n`);

  assert.equal(
    (await sh(`chown root:root ${file}`)).stderr,
    `chown: changing owner:group of '${file}' to 'root:root': Operation not permitted\n`,
  );
  assert.equal((await sh(`chown root:root ${file}`, true)).exitCode, 0);
  assert.match((await sh(`ls -l ${file}`)).stdout, /^-rw-r--r-- 1 root root 6 /);
  assert.equal((await sh(`chown 1000.1015 ${file}`, true)).exitCode, 0);
  assert.match((await sh(`ls -l ${file}`)).stdout, /^-rw-r--r-- 1 system sdcard_rw 6 /);
  assert.equal((await sh(`chown shell ${file}`, true)).exitCode, 0);
  assert.match((await sh(`ls -n ${file}`)).stdout, /^-rw-r--r-- 1 2000 1015 6 /, 'group kept');
  assert.equal((await sh(`chown bogus:root ${file}`, true)).stderr, "chown: no user 'bogus'\n");
  assert.equal((await sh(`chown root:bogus ${file}`, true)).stderr, "chown: no group 'bogus'\n");
  assert.equal((await sh(`chown -R u0_a12:u0_a12 ${TMP}/sub`, true)).exitCode, 0);
  assert.match((await sh(`ls -l ${TMP}/sub`)).stdout, /^-rw-r--r-- 1 u0_a12 u0_a12 /);
  assert.equal(
    (await sh(`chown root /nowhere`, true)).stderr,
    'chown: /nowhere: No such file or directory\n',
  );
  assert.equal(
    (await sh(`chcon u:object_r:system_file:s0 /nowhere`, true)).stderr,
    'chcon: /nowhere: No such file or directory\n',
  );

  assert.equal(
    (await sh(`chcon u:object_r:system_file:s0 ${file}`)).stderr,
    `chcon: '${file}' to u:object_r:system_file:s0: Permission denied\n`,
  );
  assert.equal((await sh(`chcon u:object_r:system_file:s0 ${file}`, true)).exitCode, 0);
  assert.equal((await sh(`ls -Z ${file}`)).stdout, `u:object_r:system_file:s0 ${file}\n`);
  assert.match(
    (await sh(`ls -lZ ${file}`)).stdout,
    /^-rw-r--r-- 1 shell sdcard_rw u:object_r:system_file:s0 6 /,
  );
  assert.equal(
    (await sh(`chcon garbage ${file}`, true)).stderr,
    `chcon: '${file}' to garbage: Invalid argument\n`,
  );

  // The read-only system image cannot be relabelled; a file removed forgets what was recorded.
  const [first] = await baseCaNames();
  assert.match((await sh(`chown shell ${CACERTS}/${first}`, true)).stderr, /Read-only file system/);
  await sh(`rm ${file} && echo new > ${file}`, true);
  assert.match((await sh(`ls -lZ ${file}`)).stdout, / shell shell u:object_r:shell_data_file:s0 /);
});

test('the tmpfs CA install prepare runs for Android 10-13 works in the lab shell', async (t) => {
  const device = await makeLabDevice(t, { cacerts: true });
  const sh = runner(device);
  const base = await baseCaNames();
  const runCa = await readFile(`images/lab/cacerts/${base[0] ?? ''}`, 'utf8');
  // Any PEM will do as the run's CA; what matters is that it ends up trusted under its hash.
  const hash = 'abcdef01';
  await device.fileSystem.write(`${TMP}/canarytrap/${hash}.0`, Buffer.from(runCa), 0o100644, 0);
  const S = `${TMP}/canarytrap`;
  const chain = [
    `rm -rf ${S}/cacerts-copy && mkdir -p ${S}/cacerts-copy`,
    `cp ${CACERTS}/* ${S}/cacerts-copy/`,
    `mount -t tmpfs tmpfs ${CACERTS}`,
    `cp ${S}/cacerts-copy/* ${CACERTS}/`,
    `cp ${S}/${hash}.0 ${CACERTS}/${hash}.0`,
    `chown root:root ${CACERTS}/* && chmod 644 ${CACERTS}/*`,
    `chcon u:object_r:system_file:s0 ${CACERTS}/*`,
  ].join(' && ');
  const result = await sh(chain, true);
  assert.deepEqual(result, { stdout: '', stderr: '', exitCode: 0 });
  const listing = (await sh(`ls -lZ ${CACERTS}`)).stdout.trim().split('\n');
  assert.deepEqual(
    listing.map((line) => line.split(/\s+/).at(-1)),
    [...base, `${hash}.0`].sort(),
  );
  for (const line of listing)
    assert.match(line, /^-rw-r--r-- 1 root root u:object_r:system_file:s0 /, line);
  assert.equal((await device.host.trustedCaCertificates()).length, base.length + 1);
});

test('the base CA files are named by their subject_hash_old and hold the PEM then the text', async () => {
  const names = await baseCaNames();
  for (const name of names) {
    const text = await readFile(`images/lab/cacerts/${name}`, 'utf8');
    assert.match(
      text,
      /^-----BEGIN CERTIFICATE-----\n[\s\S]+?\n-----END CERTIFICATE-----\nCertificate:\n/,
    );
    assert.match(
      text,
      /Subject: C ?= ?ZZ, O ?= ?canarytrap lab, OU ?= ?lab system CA store, CN ?= ?canarytrap lab root/,
    );
    const pem =
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(text)?.[0] ?? '';
    assert.equal(`${subjectHashOld(pem)}.0`, name);
  }
});

test('from Android 10 /system refuses a read-write remount, as a dm-verity root does', async (t) => {
  const android11 = runner(await makeLabDevice(t, { image: 'xiaomi-2021' }));
  const refused = await android11('mount -o rw,remount /system', true);
  assert.equal(refused.exitCode, 1);
  assert.match(refused.stderr, /Read-only file system/);
  const write = await android11(`touch ${CACERTS}/x.0`, true);
  assert.notEqual(write.exitCode, 0, '/system stays read-only');
  const android6 = runner(await makeLabDevice(t, { image: 'adups-2016' }));
  assert.equal((await android6('mount -o rw,remount /system', true)).exitCode, 0);
});
