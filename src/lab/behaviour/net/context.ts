import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../../log.ts';
import { CanarytrapError } from '../../../errors.ts';
import type { AppEvents } from '../app-events.ts';
import type { BehaviourHost } from '../host.ts';
import { resolveThroughSinkhole } from './resolve.ts';
import { openDirect } from './direct.ts';
import { openTunnel } from './tunnel.ts';

/** What one send needs: the device, the app's event stream, a log, and the send's deadline. */
export interface SendContext {
  host: BehaviourHost;
  events: AppEvents;
  logger: Logger;
  /** Aborts when the send's timeout passes; every socket of the send is destroyed then. */
  signal: AbortSignal;
  /** The app's HttpURLConnection User-Agent. */
  userAgent: string;
}

/**
 * The address an app connects to: an address literal as it is (Java's InetAddress does not look
 * up a literal), a name through the device's DNS server, stated as a hook on the lookup would
 * state it (`dns.query`).
 */
export async function resolveDestination(
  context: SendContext,
  destination: string,
): Promise<string> {
  if (isIP(destination) !== 0) return destination;
  context.events.emit({ type: 'dns.query', name: destination });
  return resolveThroughSinkhole(destination, context.host.network().dnsServer, context.signal);
}

/**
 * Opens a TCP connection to `destination` (a name or an address literal) as the app would:
 * straight to the resolved address, or, when the device has an HTTP proxy (an uncaged lab
 * phone), through a tunnel of that proxy, as the emulator's `-http-proxy` does. States the
 * connection as a hook would (`net.connect`); the socket is destroyed if the send's deadline
 * passes.
 */
export async function connectTo(
  context: SendContext,
  destination: string,
  port: number,
): Promise<{ socket: Socket; ip: string }> {
  const ip = await resolveDestination(context, destination);
  const proxy = context.host.network().httpProxy;
  const socket =
    proxy === undefined
      ? await openDirect(ip, port, context.signal)
      : await openTunnel(proxy, ip, port, context.signal);
  destroyOnAbort(socket, context.signal, context.logger);
  context.events.emit({
    type: 'net.connect',
    ...(ip === destination ? {} : { host: destination }),
    ip,
    port,
  });
  return { socket, ip };
}

/**
 * Refuses a send that only the cage can carry (UDP, ICMP, a resolver of the app's own): an
 * uncaged lab phone reaches the run only through its HTTP proxy, and such a packet would leave
 * the host for the real network.
 */
export function assertCaged(context: SendContext, what: string): void {
  if (context.host.network().httpProxy === undefined) return;
  throw new CanarytrapError(
    'lab-send-needs-cage',
    `${what} is not sent: the lab phone runs uncaged, where only its HTTP proxy reaches the run`,
    { hint: 'run the lab phone in a cage (a network namespace) to see this channel' },
  );
}

/**
 * Destroys the stream with a timeout error when the signal aborts (at once if it already has).
 * Also logs the stream's errors: between two awaited steps nobody else listens, and an 'error'
 * event without a listener would crash the whole lab phone. Each awaited step still sees the
 * error through its own listener or callback.
 */
export function destroyOnAbort(stream: Duplex, signal: AbortSignal, logger: Logger): void {
  stream.on('error', (error) => logger.debug({ err: error }, 'connection error'));
  const onAbort = (): void => {
    stream.destroy(
      new CanarytrapError('lab-send-timeout', 'the send did not finish in time', {
        cause: signal.reason,
      }),
    );
  };
  if (signal.aborted) return onAbort();
  signal.addEventListener('abort', onAbort, { once: true });
  stream.once('close', () => signal.removeEventListener('abort', onAbort));
}

/** Writes bytes and resolves once the stream has taken them. */
export async function writeAll(stream: Duplex, bytes: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    stream.write(bytes, (error) => (error ? reject(error) : resolve()));
  });
}
