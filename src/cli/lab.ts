import type { Command } from 'commander';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCapture } from '../capture/index.ts';
import { AdbClient } from '../device/adb-client.ts';
import { leaseConsolePorts } from '../device/port-lease.ts';
import { InputError } from '../errors.ts';
import { ImageStore, intakeImage } from '../intake/index.ts';
import { startLabPhone } from '../lab/phone.ts';
import { resolveImageArgument } from './image-argument.ts';
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
      '\nIts traffic goes to a private DNS sinkhole and interception proxy, printed at start. Exit codes: 0 stopped, 3 bad image.',
    )
    .action(
      action(async (image: string, flags: { consolePort?: string }) => {
        const { config, logger } = cliRuntime();
        const resolved = await resolveImageArgument(image, config);
        const stored = await intakeImage(resolved.path, new ImageStore(config.dataRoot), {
          logger,
        });
        if (!stored.metadata.labImage) {
          throw new InputError('image-not-lab', `${resolved.label} is not a lab image`, {
            hint: 'the lab phone runs images with /etc/canarytrap/lab-image.json',
          });
        }
        const explicit = flags.consolePort === undefined ? undefined : Number(flags.consolePort);
        if (explicit !== undefined && (!Number.isInteger(explicit) || explicit % 2 !== 0)) {
          throw new InputError(
            'console-port-invalid',
            `--console-port ${flags.consolePort} is not an even port number`,
          );
        }
        const lease = explicit === undefined ? await leaseConsolePorts() : undefined;
        const consolePort = explicit ?? lease?.consolePort ?? 5554;
        const work = await mkdtemp(join(tmpdir(), 'canarytrap-lab-start-'));
        const adb = new AdbClient({ adbPath: config.adbPath, serverPort: config.adbServerPort });
        await adb.startServer();
        const capture = await startCapture({ runDir: work, logger });
        try {
          const phone = await startLabPhone({
            imageDir: stored.dir,
            consolePort,
            adbServerPort: config.adbServerPort,
            network: { dnsServer: capture.dns, httpProxy: capture.proxy },
            workDir: work,
            authTokenFile: config.consoleAuthTokenPath,
            logger,
          });
          process.stdout.write(
            `${phone.serial} running ${resolved.label}: console port ${phone.consolePort}, adb port ${phone.adbPort}\n` +
              `DNS sinkhole ${capture.dns.host}:${capture.dns.port}, proxy ${capture.proxy.host}:${capture.proxy.port}, captures in ${work}\n` +
              `try: adb -s ${phone.serial} shell content query --uri content://sms/inbox   (Ctrl-C stops)\n`,
          );
          await Promise.race([
            phone.stopped,
            new Promise<void>((resolve) => {
              process.once('SIGINT', resolve);
              process.once('SIGTERM', resolve);
            }),
          ]);
          await phone.stop();
        } finally {
          await capture.stop();
          await lease?.release();
          await rm(work, { recursive: true, force: true });
        }
        return 0;
      }),
    );
}
