import { randomInt } from 'node:crypto';
import {
  cageCapability,
  chooseContainment,
  startRunNetwork,
} from '../../src/capture/run-network.ts';
import { isBundledLabImage } from '../../src/run/image-argument.ts';
import { ANALYSIS_DEFAULTS, cageStateDir } from '../../src/config.ts';
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
    perProvider: context.data.options.perProvider ?? ANALYSIS_DEFAULTS.perProvider,
  });
  // A transplant boots the image built from the base, not the submitted one.
  const target = context.bootImage ?? image;
  const { launcher, entry } = chooseLauncher(target, context);
  const network = await startRunNetwork({
    runDir,
    runId: context.data.runId,
    logger: context.logger,
    containment: await decideContainment(context),
    // Uncaged, a launcher whose DNS setting takes an address only (the SDK emulator's
    // -dns-server) needs port 53: a loopback alias of its own (outside the fake-IP range).
    ...(entry.dnsOnPort53
      ? { dns: { host: `127.53.${randomInt(0, 256)}.${randomInt(2, 255)}`, port: 53 } }
      : {}),
  });
  context.network = network;
  context.capture = network.capture;
  context.teardown.add('network', () => network.stop());
  const device = await launcher.launch({
    imageDir: target.dir,
    runDir,
    network: {
      dnsServer: network.device.dnsServer,
      ...(network.device.httpProxy ? { httpProxy: network.device.httpProxy } : {}),
    },
    ...(network.device.cage ? { cage: network.device.cage } : {}),
    phoneNumber: context.canaries.plan.identity.phoneNumber,
    logger: context.logger,
    ...(context.signal ? { signal: context.signal } : {}),
  });
  context.device = device;
  context.logger = context.logger.child({ device: device.serial });
  context.teardown.add('device', () => device.stop());
  const contained =
    network.containment.mode === 'caged'
      ? 'containment verified'
      : `UNCONTAINED (${network.containment.reason})`;
  return `${device.serial} booted (${launcher.name}), API ${await device.apiLevel()}, ${await device.abi()}; ${contained}`;
}

/** Caged when this host can; see chooseContainment for who may run uncaged. */
async function decideContainment(
  context: RunContext,
): Promise<{ mode: 'caged'; stateDir: string } | { mode: 'uncontained'; reason: string }> {
  const choice = chooseContainment({
    ...(context.data.options.uncontained ? { uncontained: true } : {}),
    bundledLabImage: isBundledLabImage(context.data.imagePath, context.config),
    capability: await cageCapability(),
  });
  return choice.mode === 'caged'
    ? { mode: 'caged', stateDir: cageStateDir(context.config) }
    : choice;
}
