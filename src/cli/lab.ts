import type { Command } from 'commander';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cageCapability, startRunNetwork } from '../capture/run-network.ts';
import { cageStateDir } from '../config.ts';
import { AdbClient } from '../device/adb-client.ts';
import { LabPhoneLauncher } from '../device/lab-phone/launcher.ts';
import { InputError } from '../errors.ts';
import { pollUntil } from '../host/poll.ts';
import { ImageStore, intakeImage } from '../intake/index.ts';
import { terminalSafe } from '../terminal-text.ts';
import { resolveImageArgument } from './image-argument.ts';
import { wholeNumberFlag } from './flags.ts';
import { action, cliRuntime } from './runtime.ts';

export function registerLab(program: Command): void {
  const lab = program
    .command('lab')
    .description('the lab phone: the emulator stand-in that runs lab images');
  lab
    .command('start')
    .description(
      'run a lab phone in the foreground until interrupted, for trying adb and other tools against it',
    )
    .argument('<image>', 'a lab image name (adups-2016) or a built lab system image')
    .option(
      '--console-port <n>',
      'even console port (adb port is n+1); default: the first free pair from 5554',
    )
    .addHelpText(
      'after',
      '\nThe phone runs in a network cage of its own where this host can make one (root, ip, nft): its traffic lands on a private DNS sinkhole and capture, printed at start. Exit codes: 0 stopped, 2 bad --console-port, 3 bad image.',
    )
    .action(
      action(async (image: string, flags: { consolePort?: string }) => {
        const { config, logger } = cliRuntime();
        // Checked before the image is read: a typo should not wait for intake.
        const explicit =
          flags.consolePort === undefined ? undefined : consolePortFlag(flags.consolePort);
        const resolved = await resolveImageArgument(image, config);
        const stored = await intakeImage(resolved.path, new ImageStore(config.dataRoot), {
          logger,
        });
        if (!stored.metadata.labImage) {
          throw new InputError('image-not-lab', `${resolved.label} is not a lab image`, {
            hint: 'the lab phone runs images with /etc/canarytrap/lab-image.json',
          });
        }
        const work = await mkdtemp(join(tmpdir(), 'canarytrap-lab-start-'));
        const adb = new AdbClient({ adbPath: config.adbPath, serverPort: config.adbServerPort });
        // The same launcher a run boots through: the phone is its own process, reached by adb
        // and its console like an emulator. An explicit port is a lease range of one pair.
        const launcher = new LabPhoneLauncher({
          adb,
          consoleAuthTokenPath: config.consoleAuthTokenPath,
          ...(explicit === undefined ? {} : { leases: { first: explicit, last: explicit } }),
        });
        // Caged as a run's device is, where this host can: the phone then cannot reach the host.
        const capability = await cageCapability();
        const network = await startRunNetwork({
          runDir: work,
          logger,
          containment: capability.ok
            ? { mode: 'caged', stateDir: cageStateDir(config) }
            : { mode: 'uncontained', reason: capability.reason },
        }).catch(async (error: unknown) => {
          await rm(work, { recursive: true, force: true });
          throw error;
        });
        try {
          const { capture } = network;
          await using phone = await launcher.launch({
            imageDir: stored.dir,
            runDir: work,
            network: {
              dnsServer: network.device.dnsServer,
              ...(network.device.httpProxy ? { httpProxy: network.device.httpProxy } : {}),
            },
            ...(network.device.cage ? { cage: network.device.cage } : {}),
            logger,
          });
          const where =
            network.containment.mode === 'caged'
              ? `caged in ${network.device.cage?.addressing.netns ?? 'its namespace'} (device ${network.device.cage?.addressing.deviceIp ?? '?'}, gateway and DNS ${network.device.dnsServer.host})`
              : `UNCONTAINED (${network.containment.reason}): DNS sinkhole ${capture.dns.host}:${capture.dns.port}`;
          process.stdout.write(
            `${phone.serial} running ${terminalSafe(resolved.label)}: console port ${phone.consolePort}, adb port ${phone.adbPort}\n` +
              `${where}; captures in ${work}\n` +
              `try: adb -s ${phone.serial} shell content query --uri content://sms/inbox   (Ctrl-C stops)\n`,
          );
          await untilStoppedOrInterrupted(phone.serial, adb);
        } finally {
          await network.stop();
          await rm(work, { recursive: true, force: true });
        }
        return 0;
      }),
    );
}

/** An even console port; the adb port is the next one. */
function consolePortFlag(text: string): number {
  const rule = {
    flag: '--console-port',
    min: 2,
    max: 65534,
    code: 'console-port-invalid',
    expect: 'an even port number',
  };
  const port = wholeNumberFlag(text, rule);
  if (port % 2 === 0) return port;
  throw new InputError(rule.code, `--console-port ${port} is odd`, {
    hint: 'give an even port: the adb port is the one after it',
  });
}

/**
 * Until Ctrl-C (or SIGTERM), or until the phone goes away by itself (console `kill`), which adb
 * sees as the serial leaving its device list.
 */
async function untilStoppedOrInterrupted(serial: string, adb: AdbClient): Promise<void> {
  const interrupted = new AbortController();
  const stop = (): void => interrupted.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await pollUntil({
      what: `${serial} to stop`,
      probe: async () => !(await adb.devices().catch(() => new Map())).has(serial),
      timeoutMs: Number.POSITIVE_INFINITY,
      setting: 'no timeout: it runs until stopped',
      intervalMs: 1_000,
      signal: interrupted.signal,
    });
  } catch (error) {
    if (!interrupted.signal.aborted) throw error;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
