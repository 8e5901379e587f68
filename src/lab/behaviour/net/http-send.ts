import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { CanarytrapError } from '../../../errors.ts';
import { b64 } from '../app-events.ts';
import type { Payload } from '../collect.ts';
import { connectTo, destroyOnAbort, writeAll, type SendContext } from './context.ts';
import { buildHttpRequest, defaultPort, type HttpSend } from './http-request.ts';
import { serverIdentityCheck, type CertificatePin } from './pin.ts';
import { readHttpResponse } from './response.ts';

/**
 * Sends one HTTP(S) request as the app would, through the device's DNS server (see connectTo). For
 * https the app trusts only the device's CA store, so a run whose CA was not installed fails
 * here exactly as it would on a phone. Resolves with the response status.
 */
export async function sendHttp(
  context: SendContext,
  send: HttpSend,
  payload: Payload,
  encoded: Buffer,
): Promise<number> {
  const port = defaultPort(send);
  const request = buildHttpRequest(send, payload, encoded, context.userAgent);
  const { socket, ip } = await connectTo(context, send.host, port);
  let stream: Duplex = socket;
  try {
    if (send.channel === 'https') stream = await startTls(context, socket, send.host, send.pin);
    context.events.emit({
      type: 'http.request',
      method: request.method,
      url: request.url,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: b64(request.body) }),
    });
    if (send.channel === 'https') {
      context.events.emit({
        type: 'tls.write',
        host: send.host,
        ip,
        port,
        data: b64(request.bytes),
      });
    } else {
      context.events.emit({ type: 'net.send', ip, port, data: b64(request.bytes) });
    }
    const responding = readHttpResponse(stream, request.method);
    await writeAll(stream, request.bytes);
    const response = await responding;
    if (send.channel === 'https')
      context.events.emit({ type: 'tls.read', host: send.host, data: b64(response.raw) });
    return response.status;
  } finally {
    stream.destroy();
    socket.destroy();
  }
}

async function startTls(
  context: SendContext,
  socket: Socket,
  servername: string,
  pin: CertificatePin | undefined,
): Promise<Duplex> {
  const ca = await context.host.trustedCaCertificates();
  // An explicit (even empty) `ca` replaces node's bundled roots: the device's store is all it trusts.
  // An address literal is no server name (RFC 6066): no SNI then, and the certificate must name
  // the address itself, as Conscrypt checks it.
  const name = isIP(servername) === 0 ? { servername } : { host: servername };
  const tls = tlsConnect({
    socket,
    ...name,
    ca,
    rejectUnauthorized: true,
    checkServerIdentity: serverIdentityCheck(pin),
  });
  destroyOnAbort(tls, context.signal, context.logger);
  try {
    await new Promise<void>((resolve, reject) => {
      tls.once('secureConnect', resolve);
      tls.once('error', reject);
    });
  } catch (error) {
    tls.destroy();
    throw new CanarytrapError(
      'lab-tls-failed',
      `TLS to ${servername} failed: ${(error as Error).message}`,
      {
        cause: error,
        // No CA on the device wins a pinned app over: its traffic stays opaque by design.
        hint:
          pin === undefined
            ? "install the run's CA as a trusted system CA on the device"
            : 'the app pins its server key; its flows are reported as opaque',
      },
    );
  }
  return tls;
}
