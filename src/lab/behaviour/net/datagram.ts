import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { CanarytrapError } from '../../../errors.ts';

/** What came back after one datagram: a reply, an ICMP refusal, or nothing in time. */
export type DatagramOutcome =
  { outcome: 'answered'; reply: Buffer } | { outcome: 'refused' } | { outcome: 'silent' };

/** The largest UDP payload an IPv4 datagram can carry. */
export const MAX_DATAGRAM = 65_507;

/**
 * Sends one datagram to `ip:port` from a connected socket, as an app's DatagramSocket does, and
 * waits up to `waitMs` for the first reply. Connected, so an ICMP port-unreachable comes back as
 * a refusal (the edge refuses QUIC that way). `accept` picks the reply that counts (a DNS answer
 * to this query id); others are ignored.
 */
export async function exchangeDatagram(
  ip: string,
  port: number,
  bytes: Buffer,
  options: { waitMs: number; signal: AbortSignal; accept?: (reply: Buffer) => boolean },
): Promise<DatagramOutcome> {
  if (bytes.length > MAX_DATAGRAM) {
    throw new CanarytrapError(
      'lab-datagram-too-long',
      `${bytes.length} bytes do not fit one UDP datagram (at most ${MAX_DATAGRAM})`,
    );
  }
  options.signal.throwIfAborted();
  const socket = createSocket(isIPv6(ip) ? 'udp6' : 'udp4');
  let open = true;
  socket.once('close', () => {
    open = false;
  });
  let settle: (outcome: DatagramOutcome | Error) => void = () => undefined;
  const settled = new Promise<DatagramOutcome | Error>((resolve) => {
    settle = resolve;
  });
  const timer = setTimeout(() => settle({ outcome: 'silent' }), options.waitMs);
  const onAbort = (): void =>
    settle(
      new CanarytrapError('lab-send-timeout', `the datagram to ${ip}:${port} was aborted`, {
        cause: options.signal.reason,
      }),
    );
  options.signal.addEventListener('abort', onAbort, { once: true });
  socket.on('message', (reply) => {
    if (options.accept === undefined || options.accept(reply))
      settle({ outcome: 'answered', reply });
  });
  const fail = (error: NodeJS.ErrnoException): void =>
    settle(
      error.code === 'ECONNREFUSED'
        ? { outcome: 'refused' }
        : new CanarytrapError('lab-udp-failed', `the datagram to ${ip}:${port} failed`, {
            cause: error,
          }),
    );
  socket.on('error', fail);
  try {
    socket.connect(port, ip, () => {
      socket.send(bytes, (error) => {
        if (error) fail(error);
      });
    });
    const result = await settled;
    if (result instanceof Error) throw result;
    return result;
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', onAbort);
    // A socket whose connect failed is closed already, and closing it again throws.
    if (open) socket.close();
  }
}

/** What came back, in words, for an outcome's detail. */
export function describeOutcome(result: DatagramOutcome): string {
  switch (result.outcome) {
    case 'answered':
      return `answered with ${result.reply.length} bytes`;
    case 'refused':
      return 'refused (ICMP port unreachable)';
    case 'silent':
      return 'no answer';
  }
}
