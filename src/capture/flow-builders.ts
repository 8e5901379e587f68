import { randomUUID } from 'node:crypto';
import type {
  ClientError,
  CompletedRequest,
  CompletedResponse,
  TlsHandshakeFailure,
} from 'mockttp';
import type { Flow, FlowEndpoint } from './flow.ts';
import { isIpLiteral, type LoopbackNames } from './loopback-names.ts';
import { plainIp, type ProxiedConnection } from './proxy-front.ts';

/**
 * Turns what the front and mockttp saw into flows. Destinations carry both the address the
 * client connected to and the name it meant: the name from the Host header, then SNI, then the
 * name the sinkhole gave that address.
 */
export function httpFlow(
  request: CompletedRequest,
  response: CompletedResponse | undefined,
  connection: ProxiedConnection | undefined,
  names: LoopbackNames,
): Flow {
  const sni = connection?.sni;
  const hostHeader = hostFromAuthority(request.headers.host ?? request.headers[':authority']);
  const destination = endpoint(connection, names, request.destination, [hostHeader, sni]);
  const flow: Flow = {
    id: request.id,
    t: request.timingEvents.startTime,
    protocol: request.protocol === 'https' ? 'https' : 'http',
    destination,
    client: clientOf(connection, request.remoteIpAddress, request.remotePort),
    request: {
      method: request.method,
      url: urlWithName(request.url, destination.host),
      httpVersion: request.httpVersion,
      headers: request.rawHeaders.map(([name, value]) => [name, value]),
      // `buffer` is the body as received, Content-Encoding not undone.
      body: request.body.buffer.toString('base64'),
    },
  };
  if (response !== undefined) {
    flow.response = {
      status: response.statusCode,
      headers: response.rawHeaders.map(([name, value]) => [name, value]),
      body: response.body.buffer.toString('base64'),
    };
  }
  if (flow.protocol === 'https')
    flow.tls = sni === undefined ? { decrypted: true } : { sni, decrypted: true };
  return flow;
}

/** A TLS handshake that did not complete: typically a client that does not trust the run's CA. */
export function tlsFailureFlow(
  failure: TlsHandshakeFailure,
  connection: ProxiedConnection | undefined,
  names: LoopbackNames,
): Flow {
  const sni = failure.tlsMetadata.sniHostname ?? connection?.sni;
  const flow: Flow = {
    id: randomUUID(),
    t: connection?.t ?? failure.timingEvents.startTime,
    protocol: 'tls',
    destination: endpoint(connection, names, failure.destination, [sni]),
    client: clientOf(connection, failure.remoteIpAddress, failure.remotePort),
    tls: sni === undefined ? { decrypted: false } : { sni, decrypted: false },
    error: `tls-handshake:${failure.failureCause}`,
  };
  if (connection !== undefined) flow.raw = connection.firstBytes.toString('base64');
  return flow;
}

/** Bytes the intercepting server could not read as HTTP, inside TLS or not. */
export function clientErrorFlow(
  error: ClientError,
  connection: ProxiedConnection | undefined,
  names: LoopbackNames,
): Flow {
  const hostHeader = hostFromAuthority(error.request.headers.host);
  const flow: Flow = {
    id: error.request.id,
    t: error.request.timingEvents.startTime,
    protocol: connection?.kind === 'tls' ? 'tls' : 'tcp',
    destination: endpoint(connection, names, error.request.destination, [
      hostHeader,
      connection?.sni,
    ]),
    client: clientOf(connection, error.request.remoteIpAddress, error.request.remotePort),
    error: `client-error:${error.errorCode ?? 'unknown'}`,
  };
  if (connection?.kind === 'tls') {
    flow.tls =
      connection.sni === undefined ? { decrypted: true } : { sni: connection.sni, decrypted: true };
  } else if (connection !== undefined) {
    flow.raw = connection.firstBytes.toString('base64');
  }
  return flow;
}

/** A connection that carried neither TLS nor HTTP, kept whole by the front. */
export function rawFlow(
  connection: ProxiedConnection,
  bytes: Buffer,
  names: LoopbackNames,
  proxyAddress: { host: string; port: number },
): Flow {
  const destination =
    connection.target === undefined
      ? { ip: proxyAddress.host, port: proxyAddress.port }
      : endpoint(connection, names, undefined, []);
  return {
    id: connection.id,
    t: connection.t,
    protocol: 'tcp',
    destination,
    client: connection.client,
    raw: bytes.toString('base64'),
  };
}

function endpoint(
  connection: ProxiedConnection | undefined,
  names: LoopbackNames,
  reported: { hostname: string; port: number } | undefined,
  nameCandidates: Array<string | undefined>,
): FlowEndpoint {
  const target =
    connection?.target ?? (reported ? { host: reported.hostname, port: reported.port } : undefined);
  const targetHost = target?.host ?? '';
  const targetIsIp = isIpLiteral(targetHost);
  // A tunnel opened by name never went through the sinkhole: give it the run's address for that name.
  const ip = targetIsIp || targetHost === '' ? plainIp(targetHost) : names.addressFor(targetHost);
  const host =
    nameCandidates.find(
      (name): name is string => name !== undefined && name !== '' && !isIpLiteral(name),
    ) ?? (targetIsIp ? names.nameFor(ip) : targetHost || undefined);
  const result: FlowEndpoint = { ip, port: target?.port ?? 0 };
  if (host !== undefined) result.host = host;
  return result;
}

function clientOf(
  connection: ProxiedConnection | undefined,
  ip: string | undefined,
  port: number | undefined,
): { ip: string; port: number } {
  return connection?.client ?? { ip: plainIp(ip), port: port ?? 0 };
}

/** `host:port`, `[v6]:port` or `host` → host. */
export function hostFromAuthority(authority: string | string[] | undefined): string | undefined {
  if (typeof authority !== 'string' || authority === '') return undefined;
  const bracketed = /^\[([^\]]+)\]/.exec(authority);
  if (bracketed?.[1]) return bracketed[1];
  return authority.split(':')[0];
}

function urlWithName(url: string, name: string | undefined): string {
  if (name === undefined) return url;
  try {
    const parsed = new URL(url);
    if (!isIpLiteral(parsed.hostname)) return url;
    parsed.hostname = name;
    return parsed.toString();
  } catch {
    return url;
  }
}
