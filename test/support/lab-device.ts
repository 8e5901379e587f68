import type { TestContext } from 'node:test';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labImageSchema } from '../../src/android/lab-image.ts';
import { createLabDevice, type LabDevice } from '../../src/lab/os/index.ts';
import type { LabDeviceOptions } from '../../src/lab/os/lab-device.ts';
import { silentLogger } from '../../src/log.ts';

/**
 * A booted lab-phone OS model on a lab image (default adups-2016), without its protocol servers.
 * Its network is loopback ports where nothing is expected to answer, unless given.
 */
export async function makeLabDevice(
  t: TestContext,
  options: {
    image?: string;
    network?: LabDeviceOptions['network'];
    /** Put the lab images' base CA store (images/lab/cacerts) into /system/etc/security/cacerts. */
    cacerts?: boolean;
  } = {},
): Promise<LabDevice> {
  const root = await mkdtemp(join(tmpdir(), 'lab-os-'));
  const image = labImageSchema.parse(
    JSON.parse(await readFile(`images/lab/${options.image ?? 'adups-2016'}.json`, 'utf8')),
  );
  const systemDir = join(root, 'system');
  await mkdir(join(systemDir, 'etc'), { recursive: true });
  await writeFile(join(systemDir, 'build.prop'), 'ro.build.display.id=TEST_BUILD\n');
  if (options.cacerts === true)
    await cp('images/lab/cacerts', join(systemDir, 'etc', 'security', 'cacerts'), {
      recursive: true,
    });
  const device = createLabDevice({
    image,
    buildProp: { 'ro.build.display.id': 'TEST_BUILD' },
    rootDir: root,
    systemDir,
    consolePort: 5584,
    avdName: 'lab_test',
    network: options.network ?? {
      dnsServer: { host: '127.0.0.1', port: 5353 },
      httpProxy: { host: '127.0.0.1', port: 8080 },
    },
    logger: silentLogger(),
    onKill: async () => undefined,
    bootDelayMs: 20,
  });
  await device.os.fs.init();
  device.os.start();
  t.after(async () => {
    await device.os.close();
    await rm(root, { recursive: true, force: true });
  });
  return device;
}
