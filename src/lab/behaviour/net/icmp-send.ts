import { execa } from 'execa';
import { isIPv4 } from 'node:net';
import { CanarytrapError } from '../../../errors.ts';
import type { SendSpec } from '../../../android/lab-image.ts';
import { assertCaged, type SendContext } from './context.ts';

type IcmpSend = Extract<SendSpec, { channel: 'icmp' }>;

/** `ping -p` takes at most 16 pattern bytes, which it repeats over the echo's data. */
export const MAX_PING_PATTERN = 16;
/** One echo with a one-second wait, plus the time to start the binary. */
const PING_TIMEOUT_MS = 5_000;

/** `ping`'s arguments for one echo to `ip` whose data repeats `pattern`. */
export function pingArgs(ip: string, pattern: Buffer): string[] {
  return ['-c', '1', '-W', '1', '-p', pattern.toString('hex'), ip];
}

/**
 * Leaks the payload in the data of one ICMP echo by running the system `ping` with the payload
 * as its pattern, as apps without raw sockets do (`exec`). Runs in the phone's network namespace,
 * so in a cage the echo reaches the edge, which drops and counts it. No reply is no failure:
 * the echo has left either way.
 */
export async function sendIcmp(
  context: SendContext,
  send: IcmpSend,
  encoded: Buffer,
): Promise<string> {
  assertCaged(context, `an ICMP echo to ${send.host}`);
  if (!isIPv4(send.host)) {
    throw new CanarytrapError(
      'lab-image-invalid',
      `the icmp send needs an IPv4 literal, not "${send.host}"`,
      { permanent: true },
    );
  }
  if (encoded.length === 0 || encoded.length > MAX_PING_PATTERN) {
    throw new CanarytrapError(
      'lab-icmp-pattern-too-long',
      `an ICMP echo carries 1 to ${MAX_PING_PATTERN} pattern bytes, and the payload has ${encoded.length}`,
      {
        hint: 'collect one short item with serialize "values" (an IMEI fits) for the icmp channel',
      },
    );
  }
  const args = pingArgs(send.host, encoded);
  // The command line the app hands to Runtime.exec, as a hook on it states it.
  context.events.emit({ type: 'exec', command: ['ping', ...args].join(' ') });
  const result = await execa('ping', args, {
    reject: false,
    timeout: PING_TIMEOUT_MS,
    cancelSignal: context.signal,
    stdin: 'ignore',
  });
  // ping exits 1 when no reply came and 2 (or otherwise) when it could not send at all.
  if (result.exitCode === 0)
    return `ICMP echo of ${encoded.length} bytes to ${send.host}, answered`;
  if (result.exitCode === 1)
    return `ICMP echo of ${encoded.length} bytes to ${send.host}, no reply`;
  throw new CanarytrapError(
    'lab-icmp-failed',
    `ping ${send.host} failed (${result.exitCode ?? result.signal ?? 'no exit code'}): ${String(result.stderr).trim() || String(result.stdout).trim()}`,
  );
}
