import { b64 } from '../app-events.ts';
import { resolveDestination, type SendContext } from './context.ts';
import { describeOutcome, exchangeDatagram } from './datagram.ts';
import { quicInitial } from './quic-initial.ts';

/** How long the app waits for a QUIC answer before it gives up on QUIC for this request. */
const QUIC_WAIT_MS = 1000;

/**
 * The app's QUIC attempt before HTTPS over TCP: one Initial datagram to UDP `port` of the
 * resolved host (`net.send`). The lab app speaks no further QUIC, so whatever comes back (in a
 * cage the edge refuses it) it falls back to TCP, as Cronet does when QUIC is refused. Uncaged
 * there is no attempt: the HTTP proxy carries TCP only. Resolves with what happened, in words.
 */
export async function attemptQuic(
  context: SendContext,
  host: string,
  port: number,
): Promise<string> {
  if (context.host.network().httpProxy !== undefined) return 'QUIC not tried (uncaged)';
  const ip = await resolveDestination(context, host);
  const initial = quicInitial(host);
  context.events.emit({ type: 'net.send', ip, port, data: b64(initial) });
  const result = await exchangeDatagram(ip, port, initial, {
    waitMs: QUIC_WAIT_MS,
    signal: context.signal,
  });
  return `QUIC Initial to ${ip}:${port} ${describeOutcome(result)}`;
}
