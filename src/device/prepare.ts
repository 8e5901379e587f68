import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CanarytrapError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Device } from './device.ts';

export interface PrepareOptions {
  caCertificatePem: string;
  /** OpenSSL subject_hash_old of the CA: Android names system CA files `<hash>.0`. */
  caSubjectHashOld: string;
  logger: Logger;
}

const SYSTEM_CACERTS = '/system/etc/security/cacerts';
const STAGING = '/data/local/tmp/canarytrap';

/**
 * Roots the device and installs the run's CA as a system CA, so apps that ignore user CAs
 * (every app targeting API 24+) still trust the interception proxy. Resolves with how.
 */
export async function prepareDevice(device: Device, options: PrepareOptions): Promise<string> {
  await device.root();
  const api = await device.apiLevel();
  const certName = `${options.caSubjectHashOld}.0`;
  const local = await mkdtemp(join(tmpdir(), 'canarytrap-ca-'));
  try {
    await writeFile(join(local, certName), options.caCertificatePem);
    await device.shell(`mkdir -p ${STAGING}`);
    await device.push(join(local, certName), `${STAGING}/${certName}`);
  } finally {
    await rm(local, { recursive: true, force: true });
  }
  const method = caInstallRemountsSystem(api)
    ? await installViaRemount(device, certName)
    : api >= 34
      ? await installViaApexBind(device, certName)
      : await installViaTmpfs(device, certName);
  const check = await device.shell(`ls ${SYSTEM_CACERTS}/${certName}`, { allowFailure: true });
  if (check.exitCode !== 0) {
    throw new CanarytrapError(
      'ca-install-failed',
      `the run CA is not in ${SYSTEM_CACERTS} after ${method}`,
      {
        hint: 'use a writable-system emulator image (-writable-system) or an image that allows adb root',
      },
    );
  }
  options.logger.info({ method, certName }, 'run CA installed');
  return `${SYSTEM_CACERTS}/${certName} (${method})`;
}

/**
 * Whether the CA install remounts /system read-write: up to Android 9 (API 28). The SDK emulator
 * allows that only when started with `-writable-system`.
 */
export function caInstallRemountsSystem(apiLevel: number): boolean {
  return apiLevel <= 28;
}

/** Up to Android 9: /system can be remounted read-write once adbd runs as root. */
async function installViaRemount(device: Device, certName: string): Promise<string> {
  const remount = await device.shell('mount -o rw,remount /system', { allowFailure: true });
  if (remount.exitCode !== 0) await device.shell('mount -o rw,remount /');
  await device.shell(
    `cp ${STAGING}/${certName} ${SYSTEM_CACERTS}/${certName} && chmod 644 ${SYSTEM_CACERTS}/${certName}`,
  );
  return 'remount';
}

/**
 * Android 10–13: /system is a read-only dm-verity image, so a tmpfs holding the existing CAs
 * plus ours is mounted over the CA directory (SELinux label restored for the system_file check).
 */
async function installViaTmpfs(device: Device, certName: string): Promise<string> {
  await device.shell(
    [
      `rm -rf ${STAGING}/cacerts-copy && mkdir -p ${STAGING}/cacerts-copy`,
      `cp ${SYSTEM_CACERTS}/* ${STAGING}/cacerts-copy/`,
      `mount -t tmpfs tmpfs ${SYSTEM_CACERTS}`,
      `cp ${STAGING}/cacerts-copy/* ${SYSTEM_CACERTS}/`,
      `cp ${STAGING}/${certName} ${SYSTEM_CACERTS}/${certName}`,
      `chown root:root ${SYSTEM_CACERTS}/* && chmod 644 ${SYSTEM_CACERTS}/*`,
      `chcon u:object_r:system_file:s0 ${SYSTEM_CACERTS}/*`,
    ].join(' && '),
  );
  return 'tmpfs';
}

/**
 * Android 14+: CAs come from the Conscrypt APEX, and each app's mount namespace is forked from
 * zygote's, so the tmpfs is bind-mounted over the APEX directory in zygote's namespace and in
 * every running app's namespace too.
 */
async function installViaApexBind(device: Device, certName: string): Promise<string> {
  await installViaTmpfs(device, certName);
  const apex = '/apex/com.android.conscrypt/cacerts';
  await device.shell(
    [
      `for pid in $(pidof zygote zygote64); do nsenter --mount=/proc/$pid/ns/mnt -- mount --bind ${SYSTEM_CACERTS} ${apex}; done`,
      `for pid in $(pidof zygote zygote64); do for child in $(ps -o PID -P $pid | grep -v PID); do nsenter --mount=/proc/$child/ns/mnt -- mount --bind ${SYSTEM_CACERTS} ${apex}; done; done`,
    ].join('; '),
    { allowFailure: true },
  );
  return 'tmpfs + APEX bind mount';
}
