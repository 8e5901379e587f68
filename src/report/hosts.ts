/**
 * How leaks and flows are named by destination. Leaks and flows must agree on the name, or a
 * destination's leak count would miss its own leaks, so both go through this one file.
 */
import type { Flow } from '../capture/flow.ts';
import type { Leak } from '../correlate/types.ts';

/** The host a leak went to: the name the app asked for, else the address, else its channel. */
export function leakHost(leak: Leak): string {
  return leak.destination.host ?? leak.destination.ip ?? `(${leak.destination.channel})`;
}

/** The host a flow went to, named the same way as leakHost names leaks. */
export function flowHost(flow: Flow): string {
  return flow.destination.host ?? flow.tls?.sni ?? flow.destination.ip;
}

/** The app of a flow: the client package, where the capture knew it. */
export function flowApp(flow: Flow): string | undefined {
  return flow.client?.package;
}

/** Bytes a flow put on the wire: request line, headers and body for HTTP, else the raw bytes. */
export function flowBytesSent(flow: Flow): number {
  let bytes = flow.raw === undefined ? 0 : Buffer.byteLength(flow.raw, 'base64');
  const request = flow.request;
  if (request) {
    bytes += Buffer.byteLength(`${request.method} ${request.url} ${request.httpVersion}\r\n`);
    for (const [name, value] of request.headers)
      bytes += Buffer.byteLength(`${name}: ${value}\r\n`);
    bytes += 2 + Buffer.byteLength(request.body, 'base64');
  }
  return bytes;
}
