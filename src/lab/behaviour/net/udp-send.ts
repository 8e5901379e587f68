import type { SendSpec } from '../../../android/lab-image.ts';
import { b64 } from '../app-events.ts';
import { assertCaged, resolveDestination, type SendContext } from './context.ts';
import { describeOutcome, exchangeDatagram } from './datagram.ts';

type UdpSend = Extract<SendSpec, { channel: 'udp' }>;

/** How long the app listens for an answer to its datagram. */
const REPLY_WAIT_MS = 1000;

/**
 * Sends the payload as one UDP datagram (`net.send`, as a hook on sendto states it) and listens
 * briefly for an answer, which the app does not need: the datagram is the leak. Resolves with
 * what came back, in words.
 */
export async function sendUdp(
  context: SendContext,
  send: UdpSend,
  encoded: Buffer,
): Promise<string> {
  assertCaged(context, `a UDP datagram to ${send.host}:${send.port}`);
  const ip = await resolveDestination(context, send.host);
  context.events.emit({ type: 'net.send', ip, port: send.port, data: b64(encoded) });
  const result = await exchangeDatagram(ip, send.port, encoded, {
    waitMs: REPLY_WAIT_MS,
    signal: context.signal,
  });
  return `${encoded.length} bytes by UDP to ${ip}:${send.port}, ${describeOutcome(result)}`;
}
