import { randomInt } from 'node:crypto';
import { startCapture } from '../../src/capture/index.ts';
import { CanarytrapError } from '../../src/errors.ts';
import { chooseLauncher } from '../../src/device/launchers.ts';
import { generateCanaries } from '../../src/canary/generate.ts';
import type { RunContext } from '../context.ts';

/** Starts the run's capture (sinkhole, proxy, CA), then boots the image on a device that uses them. */
export async function bootStage(context: RunContext): Promise<string> {
  const { runDir, image } = context;
  if (!runDir || !image) throw new CanarytrapError('stage-order', 'boot needs intake first');
  // Canaries are made before boot because the line-1 number is a launch setting (-phone-number).
  context.canaries = generateCanaries({
    runId: context.data.runId,
    perProvider: context.data.options.perProvider ?? 3,
  });
  // A transplant boots the image built from the base, not the submitted one.
  const target = context.bootImage ?? image;
  const launcher = chooseLauncher(target, context);
  const capture = await startCapture({
    runDir,
    logger: context.logger,
    // The SDK emulator's -dns-server takes an address and always uses port 53: give the run's
    // sinkhole a loopback alias of its own (127.53.0.0/16 is outside the sinkhole's answer range).
    ...(launcher.name === 'sdk-emulator'
      ? { dns: { host: `127.53.${randomInt(0, 256)}.${randomInt(2, 255)}`, port: 53 } }
      : {}),
  });
  context.capture = capture;
  context.teardown.add('capture', () => capture.stop());
  const device = await launcher.launch({
    imageDir: target.dir,
    runDir,
    network: { dnsServer: capture.dns, httpProxy: capture.proxy },
    phoneNumber: context.canaries.plan.identity.phoneNumber,
    logger: context.logger,
  });
  context.device = device;
  context.logger = context.logger.child({ device: device.serial });
  context.teardown.add('device', () => device.stop());
  return `${device.serial} booted (${launcher.name}), API ${await device.apiLevel()}, ${await device.abi()}`;
}
