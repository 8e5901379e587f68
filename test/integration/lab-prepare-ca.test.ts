import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { test } from 'node:test';
import type { Flow } from '../../src/capture/flow.ts';
import { waitForQuiet, type CaptureSession } from '../../src/capture/index.ts';
import type { RunningDevice } from '../../src/device/device.ts';
import { prepareDevice } from '../../src/device/prepare.ts';
import { silentLogger } from '../../src/log.ts';
import { startLabBench, until } from '../support/lab-bench.ts';

const CACERTS = '/system/etc/security/cacerts';
const ANALYTICS_HOST = 'sa.api.intl.miui.com';
const logger = silentLogger();

function describeFlows(capture: CaptureSession): string {
  return capture
    .flows()
    .map(
      (f) => `${f.protocol} ${f.tls?.sni ?? f.destination.host} ${f.error ?? f.request?.url ?? ''}`,
    )
    .join('; ');
}

function toHost(flow: Flow, host: string): boolean {
  return flow.destination.host === host || flow.tls?.sni === host;
}

async function listCacerts(device: RunningDevice): Promise<string[]> {
  return (await device.shell(`ls ${CACERTS}`)).stdout.split('\n').filter((l) => l !== '');
}

test(
  'prepareDevice installs the run CA on lab phones of API 30 (tmpfs over cacerts) and API 23 (remount), and HTTPS is intercepted only after it',
  { timeout: 180_000 },
  async (t) => {
    const bench = await startLabBench(t, 'lab-prepare-ca');
    const baseCas = (await readdir('images/lab/cacerts')).filter((n) => n.endsWith('.0')).sort();
    assert.ok(baseCas.length >= 3);

    // Android 11: /system stays read-only; the CA store is replaced by a tmpfs copy of it.
    const xiaomi = await bench.boot('xiaomi-2021');
    const { device, capture } = xiaomi;
    assert.equal(await device.apiLevel(), 30);
    assert.deepEqual(await listCacerts(device), baseCas, 'the image carries the base CA store');

    // Before prepare the browser's HTTPS upload meets the proxy's certificate and refuses it.
    await device.shell('settings put secure xiaomi_experience_program 1');
    const refused = await until(
      'the refused TLS handshake',
      async () =>
        capture.flows().find((f) => toHost(f, ANALYTICS_HOST) && f.error?.startsWith('tls-')),
      15_000,
    );
    assert.equal(refused.request, undefined);
    assert.equal(
      capture.flows().filter((f) => toHost(f, ANALYTICS_HOST) && f.request !== undefined).length,
      0,
      `nothing decrypted before prepare: ${describeFlows(capture)}`,
    );
    await device.shell('settings put secure xiaomi_experience_program 0');

    const how = await prepareDevice(device, {
      caCertificatePem: capture.caCertificatePem,
      caSubjectHashOld: capture.caSubjectHashOld,
      logger,
    });
    const runCa = `${capture.caSubjectHashOld}.0`;
    assert.equal(how, `${CACERTS}/${runCa} (tmpfs)`);
    assert.deepEqual(await listCacerts(device), [...baseCas, runCa].sort());
    assert.match(
      (await device.shell('mount')).stdout,
      /^tmpfs on \/system\/etc\/security\/cacerts type tmpfs \(rw,/m,
    );
    assert.match(
      (await device.shell('mount')).stdout,
      /^\/dev\/block\/vda on \/system type ext4 \(ro,/m,
    );
    for (const line of (await device.shell(`ls -lZ ${CACERTS}`)).stdout.trim().split('\n'))
      assert.match(line, /^-rw-r--r-- 1 root root u:object_r:system_file:s0 /, line);
    assert.equal((await device.shell(`cat ${CACERTS}/${runCa}`)).stdout, capture.caCertificatePem);

    await device.shell('settings put secure xiaomi_experience_program 1');
    const upload = await until(
      'the intercepted analytics upload',
      async () => capture.flows().find((f) => toHost(f, ANALYTICS_HOST) && f.request !== undefined),
      15_000,
    );
    assert.equal(upload.protocol, 'https');
    assert.equal(upload.request?.method, 'POST');

    // Android 6: /system is remounted read-write and the CA copied in; no tmpfs.
    const adups = await bench.boot('adups-2016');
    assert.equal(await adups.device.apiLevel(), 23);
    const adupsHow = await prepareDevice(adups.device, {
      caCertificatePem: adups.capture.caCertificatePem,
      caSubjectHashOld: adups.capture.caSubjectHashOld,
      logger,
    });
    assert.equal(adupsHow, `${CACERTS}/${adups.capture.caSubjectHashOld}.0 (remount)`);
    assert.deepEqual(
      await listCacerts(adups.device),
      [...baseCas, `${adups.capture.caSubjectHashOld}.0`].sort(),
    );
    const mounts = (await adups.device.shell('mount')).stdout;
    assert.match(mounts, /^\/dev\/block\/vda on \/system type ext4 \(rw,/m);
    assert.doesNotMatch(mounts, /tmpfs/);
    // Its boot-time update check (10 s after boot) goes out over HTTPS and is decrypted.
    const fota = await until(
      'an intercepted adups HTTPS request',
      async () =>
        adups.capture
          .flows()
          .find(
            (f) => f.request !== undefined && (f.destination.host ?? '').endsWith('.adups.com'),
          ),
      40_000,
    );
    assert.equal(fota.protocol, 'https');
    await waitForQuiet(adups.capture, { quietMs: 500, maxMs: 5_000 });
  },
);
