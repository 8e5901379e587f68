import { randomBytes, randomInt } from 'node:crypto';
import { access } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Device } from '../device/device.ts';
import { CanarytrapError } from '../errors.ts';
import { pollUntil } from '../host/poll.ts';
import type { Logger } from '../log.ts';

/** Where the renamed frida-server binary goes; /data/local/tmp is writable and executable. */
const REMOTE_DIR = '/data/local/tmp';

export interface FridaServer {
  /** The renamed binary on the device. */
  readonly remotePath: string;
  /** Its port on the device's loopback. */
  readonly devicePort: number;
  /** The host port adb forwards to it. */
  readonly localPort: number;
  /** `127.0.0.1:<localPort>`, for frida's addRemoteDevice. */
  readonly address: string;
  /** Kills the server and removes the binary; idempotent. */
  stop(): Promise<void>;
}

export interface DeployOptions {
  /** Directory holding `frida-server-<abi>` (config.fridaServerDir). */
  fridaServerDir: string;
  logger: Logger;
  /** How long the server gets to answer after start. Default 15 s. */
  startTimeoutMs?: number;
  /** Whether the server answers; default: an HTTP request on the forwarded port gets any reply. */
  probe?: (address: { host: string; port: number }) => Promise<boolean>;
}

/** The frida-server binary for a device ABI, or an error naming the file to provide. */
export async function fridaServerBinary(fridaServerDir: string, abi: string): Promise<string> {
  const path = join(fridaServerDir, `frida-server-${abi}`);
  try {
    await access(path);
    return path;
  } catch (error) {
    throw new CanarytrapError('frida-server-missing', `no frida-server for ABI ${abi} at ${path}`, {
      cause: error,
      permanent: true,
      hint: `put the frida-server release for ${abi} (matching the frida npm module's version) at ${path}`,
    });
  }
}

/**
 * Pushes frida-server under a random name (software that looks for `frida-server` in the process
 * list does not find it), starts it as root on a random loopback port, forwards that port and
 * waits until it answers.
 */
export async function deployFridaServer(
  device: Device,
  options: DeployOptions,
): Promise<FridaServer> {
  const abi = await device.abi();
  const binary = await fridaServerBinary(options.fridaServerDir, abi);
  const remotePath = `${REMOTE_DIR}/.${randomBytes(6).toString('hex')}`;
  const devicePort = randomInt(20_000, 60_000);
  await device.root();
  await device.push(binary, remotePath);
  await device.shell(`chmod 755 ${remotePath}`);
  // A start that fails shows up as a server that never answers; its output goes into that error.
  const started = await device.shell(
    `nohup ${remotePath} -l 127.0.0.1:${devicePort} >/dev/null 2>&1 & echo $!`,
    { allowFailure: true },
  );
  const pid = /^\d+$/.test(started.stdout.trim()) ? started.stdout.trim() : undefined;
  const startOutput = `${started.stdout}${started.stderr}`.trim();
  const localPort = await device.forward(devicePort);
  let stopped = false;
  const server: FridaServer = {
    remotePath,
    devicePort,
    localPort,
    address: `127.0.0.1:${localPort}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (pid) await device.shell(`kill ${pid}`, { allowFailure: true });
      await device.shell(`rm -f ${remotePath}`, { allowFailure: true });
    },
  };
  options.logger.info({ remotePath, devicePort, localPort, pid }, 'frida-server started');
  try {
    await waitUntilAnswering(
      { host: '127.0.0.1', port: localPort },
      options.probe ?? answersHttp,
      options.startTimeoutMs ?? 15_000,
    );
  } catch (error) {
    await server.stop();
    if (error instanceof CanarytrapError && startOutput && !pid)
      throw new CanarytrapError(
        error.code,
        `${error.message}; its start command printed: ${startOutput}`,
        {
          cause: error,
          ...(error.hint ? { hint: error.hint } : {}),
        },
      );
    throw error;
  }
  return server;
}

/** Polls `probe` until it is true, or fails naming frida-server and what to check. */
export async function waitUntilAnswering(
  address: { host: string; port: number },
  probe: (address: { host: string; port: number }) => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  await pollUntil({
    what: `frida-server on ${address.host}:${address.port}`,
    probe: () => probe(address).catch(() => false),
    timeoutMs,
    setting: 'startTimeoutMs',
    timeout: {
      code: 'frida-server-timeout',
      message: `frida-server did not answer on ${address.host}:${address.port} within ${timeoutMs} ms`,
      hint: 'check that the frida-server binary matches the device ABI and the frida module version, and that the device shell runs it as root',
    },
  });
}

/**
 * adb accepts a connection on a forwarded port even when nothing listens on the device, then
 * closes it; frida-server answers an HTTP request (its web endpoint). So: any reply bytes = up.
 */
export function answersHttp(address: { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(address.port, address.host);
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () =>
      socket.write(`GET / HTTP/1.1\r\nHost: ${address.host}\r\nConnection: close\r\n\r\n`),
    );
    socket.once('data', () => done(true));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}
