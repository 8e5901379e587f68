import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../../log.ts';
import { CanarytrapError } from '../../../errors.ts';
import type { AppEvents } from '../app-events.ts';
import type { BehaviourHost } from '../host.ts';
import { resolveThroughSinkhole } from './resolve.ts';
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
 * Resolves `name` through the device's DNS server and opens a tunnel to the answer through the
 * device's HTTP proxy, stating the lookup and the connection as a hook would (`dns.query`,
 * `net.connect`). The socket is destroyed if the send's deadline passes.
 */
export async function connectThroughProxy(
  context: SendContext,
  name: string,
  port: number,
): Promise<{ socket: Socket; ip: string }> {
  const network = context.host.network();
  context.events.emit({ type: 'dns.query', name });
  const ip = await resolveThroughSinkhole(name, network.dnsServer, context.signal);
  const socket = await openTunnel(network.httpProxy, ip, port, context.signal);
  destroyOnAbort(socket, context.signal, context.logger);
  context.events.emit({ type: 'net.connect', host: name, ip, port });
  return { socket, ip };
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
