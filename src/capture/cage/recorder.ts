import { execa } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { CanarytrapError } from '../../errors.ts';
import { pollUntil } from '../../host/poll.ts';
import type { EdgeRecorder } from './types.ts';

export interface PcapRecorderOptions {
  /** The interface to record, as the namespace it is run in names it. */
  interfaceName: string;
  /** Written in pcap format (not pcapng): every reader the correlator has takes it. */
  file: string;
  /** Runs dumpcap elsewhere (inside a namespace); default as is, in the host namespace. */
  wrap?: (file: string, args: readonly string[]) => { file: string; args: string[] };
  /** A libpcap capture filter; default none, every packet. */
  filter?: string;
  readyTimeoutMs: number;
}

/**
 * dumpcap reads packets from the kernel in blocks handed over at most every 250 ms and drops a
 * block still in the kernel when it is interrupted, so stopping waits this long first.
 */
const DRAIN_MS = 350;
const STOP_GRACE_MS = 5_000;

/** Starts dumpcap on an interface and resolves once it is capturing. */
export async function startPcapRecorder(options: PcapRecorderOptions): Promise<EdgeRecorder> {
  const args = ['-i', options.interfaceName, '-w', options.file, '-q', '-P'];
  if (options.filter !== undefined) args.push('-f', options.filter);
  const command = options.wrap ? options.wrap('dumpcap', args) : { file: 'dumpcap', args };
  const dumpcap = execa(command.file, command.args, {
    stdin: 'ignore',
    stdout: 'ignore',
    buffer: false,
    reject: false,
  });
  let stderr = '';
  dumpcap.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const exited = () => dumpcap.exitCode !== null || dumpcap.signalCode !== null;

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (!exited()) await sleep(DRAIN_MS);
      // SIGINT is dumpcap's own "stop capturing": it writes what it holds and closes the file.
      dumpcap.kill('SIGINT');
      const timer = setTimeout(() => dumpcap.kill('SIGKILL'), STOP_GRACE_MS);
      await dumpcap;
      clearTimeout(timer);
    })());

  try {
    // dumpcap names its file on stderr once the interface is open and capturing.
    await pollUntil({
      what: `dumpcap capturing on ${options.interfaceName}`,
      probe: async () => /^File: /m.test(stderr),
      timeoutMs: options.readyTimeoutMs,
      setting: 'commandTimeoutMs',
      intervalMs: 20,
      giveUp: () =>
        exited()
          ? new CanarytrapError('cage-recorder-failed', `dumpcap exited: ${stderr.trim()}`, {
              hint: 'check that tshark (dumpcap) is installed and the interface exists',
              details: { interface: options.interfaceName, file: options.file },
            })
          : undefined,
      timeout: {
        code: 'cage-recorder-failed',
        hint: 'raise commandTimeoutMs if the host is overloaded',
      },
    });
  } catch (error) {
    dumpcap.kill('SIGKILL');
    await dumpcap;
    throw error;
  }
  return { file: options.file, stop, [Symbol.asyncDispose]: stop };
}
