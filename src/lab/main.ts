/**
 * The lab phone process, standing in for the emulator binary:
 *
 *   node --import tsx src/lab/main.ts --image-dir D --console-port N --dns-server IP:PORT \
 *     --work-dir DIR --auth-token-file F [--adb-server-port P] [--http-proxy 127.0.0.1:X]
 *
 * In a cage (a network namespace of its own) it gets the cage's gateway as its DNS server and
 * nothing else: its apps open their sockets directly, and the host side announces it to the adb
 * server, since nothing of the host is reachable from inside. Uncaged, `--http-proxy` carries
 * its apps' connections to the run and `--adb-server-port` makes it announce itself.
 *
 * Prints one JSON line on stdout once it is ready (`{"ready":true,"serial":...}`), logs to
 * stderr, and exits 0 after SIGTERM, SIGINT or console `kill`. A failure to start prints one
 * line on stderr and exits 1.
 *
 * A launcher adds `--exit-with-stdin --remove-work-dir`: it keeps the phone's stdin pipe open
 * for as long as it lives, and the kernel closes that pipe when the launcher dies, even by
 * SIGKILL. The phone then stops on its own and removes the work dir its launcher can no longer
 * remove, so a killed worker leaves no orphan device, busy port or temp dir.
 */
import { Command, InvalidArgumentError } from 'commander';
import { rm } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { loadConfig } from '../config.ts';
import { describeError, InputError } from '../errors.ts';
import { createLogger } from '../log.ts';
import type { HostPort } from './os/index.ts';
import { startLabPhone } from './phone.ts';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) throw new InvalidArgumentError('not a TCP port');
  return n;
}

/** The proxy is the host's: only loopback, so the lab phone's traffic stays on this machine. */
function loopbackEndpoint(value: string): HostPort {
  const m = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost):(\d{1,5})$/.exec(value);
  if (!m?.[1] || !m[2]) throw new InvalidArgumentError('expected 127.0.0.1:<port> (loopback only)');
  return { host: m[1] === '[::1]' ? '::1' : m[1], port: port(m[2]) };
}

/**
 * The DNS server: any IPv4 address, since in a cage it is the gateway (the sinkhole on port 53);
 * loopback forms are kept for uncaged runs.
 */
function dnsEndpoint(value: string): HostPort {
  const m = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}):(\d{1,5})$/.exec(value);
  if (m?.[1] && m[2] && isIPv4(m[1])) return { host: m[1], port: port(m[2]) };
  try {
    return loopbackEndpoint(value);
  } catch {
    throw new InvalidArgumentError('expected <IPv4 address>:<port>');
  }
}

interface CliOptions {
  imageDir: string;
  consolePort: number;
  adbPort?: number;
  adbServerPort?: number;
  httpProxy?: HostPort;
  dnsServer: HostPort;
  phoneNumber?: string;
  workDir: string;
  authTokenFile: string;
  avdName?: string;
  exitWithStdin?: boolean;
  removeWorkDir?: boolean;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('lab-phone')
    .requiredOption('--image-dir <dir>', 'directory holding system.img')
    .requiredOption('--console-port <port>', 'emulator console port (serial emulator-<port>)', port)
    .option('--adb-port <port>', 'adb device port (default console port + 1)', port)
    .option('--adb-server-port <port>', 'adb server to announce to (default: none)', port)
    .option(
      '--http-proxy <host:port>',
      'the run proxy, uncaged (default: direct)',
      loopbackEndpoint,
    )
    .requiredOption('--dns-server <ip:port>', 'the run DNS sinkhole', dnsEndpoint)
    .option('--phone-number <number>', 'line-1 number')
    .requiredOption('--work-dir <dir>', 'where the phone keeps its temp dir')
    .requiredOption('--auth-token-file <file>', 'console auth token file')
    .option('--avd-name <name>', 'what `avd name` answers')
    .option('--exit-with-stdin', 'stop when stdin closes (the launcher holds it open while alive)')
    .option('--remove-work-dir', 'remove the work dir on exit (it was made for this phone alone)')
    .exitOverride();
  program.parse(argv, { from: 'user' });
  const o = program.opts<CliOptions>();
  if (o.consolePort % 2 !== 0) {
    throw new InputError('lab-phone-port-invalid', `console port ${o.consolePort} is odd`, {
      hint: 'use an even console port; the adb port is the next one, as for the emulator',
    });
  }
  const config = loadConfig();
  const logger = createLogger(config.logLevel).child({ component: 'lab-phone' });
  const phone = await startLabPhone({
    imageDir: o.imageDir,
    consolePort: o.consolePort,
    ...(o.adbPort === undefined ? {} : { adbPort: o.adbPort }),
    adbServerPort: o.adbServerPort,
    network: { dnsServer: o.dnsServer, httpProxy: o.httpProxy },
    ...(o.phoneNumber === undefined ? {} : { phoneNumber: o.phoneNumber }),
    workDir: o.workDir,
    authTokenFile: o.authTokenFile,
    ...(o.avdName === undefined ? {} : { avdName: o.avdName }),
    logger,
  });
  const onSignal = (): void => void phone.stop();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  if (o.exitWithStdin) {
    // Nothing is read from stdin: its end of file is the signal that the launcher is gone.
    process.stdin.once('end', onSignal);
    process.stdin.once('error', onSignal);
    process.stdin.resume();
  }
  process.stdout.write(
    `${JSON.stringify({ ready: true, serial: phone.serial, consolePort: phone.consolePort, adbPort: phone.adbPort, pid: process.pid })}\n`,
  );
  await phone.stopped;
  if (o.removeWorkDir) await rm(o.workDir, { recursive: true, force: true });
  process.exit(0);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const code = (error as { code?: unknown }).code;
  // commander already printed its usage error.
  if (typeof code === 'string' && code.startsWith('commander.')) process.exit(2);
  process.stderr.write(`${describeError(error)}\n`);
  process.exit(1);
});
