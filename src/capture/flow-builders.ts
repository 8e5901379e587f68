import { randomUUID } from 'node:crypto';
import type {
  ClientError,
  CompletedRequest,
  CompletedResponse,
  TlsHandshakeFailure,
} from 'mockttp';
import { isIpLiteral, plainIp } from './addresses.ts';
import type { FakeIpNames } from './fake-ip-names.ts';
import type { Flow, FlowEndpoint } from './flow.ts';
import type { FrontConnection } from './front.ts';
import { DESTINATION_UNKNOWN } from './original-destination.ts';

/**
 * Turns what the front and mockttp saw into flows. Only connections the front handed over make
 * flows, so each has its true client and, when anyone said, its destination. Destinations carry
 * both the address the client connected to and the name it meant: the name from the Host
 * header, then SNI, then the name the sinkhole gave that address, failing all of them the
 * address itself.
 */
export function httpFlow(
  request: CompletedRequest,
  response: CompletedResponse | undefined,
  connection: FrontConnection,
  names: FakeIpNames,
): Flow {
  const sni = connection.sni;
  const hostHeader = hostFromAuthority(request.headers.host ?? request.headers[':authority']);
  const destination = endpoint(connection, names, request.destination, [hostHeader, sni]);
  const flow: Flow = {
    id: request.id,
    t: request.timingEvents.startTime,
    protocol: request.protocol === 'https' ? 'https' : 'http',
    destination,
    client: connection.client,
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
  return withUnknownDestination(flow, connection);
}

/** A TLS handshake that did not complete: typically a client that does not trust the run's CA. */
export function tlsFailureFlow(
  failure: TlsHandshakeFailure,
  connection: FrontConnection,
  names: FakeIpNames,
): Flow {
  const sni = failure.tlsMetadata.sniHostname ?? connection.sni;
  const flow: Flow = {
    id: randomUUID(),
    t: connection.t,
    protocol: 'tls',
    destination: endpoint(connection, names, failure.destination, [sni]),
    client: connection.client,
    raw: connection.firstBytes.toString('base64'),
    tls: sni === undefined ? { decrypted: false } : { sni, decrypted: false },
    error: `tls-handshake:${failure.failureCause}`,
  };
  return withUnknownDestination(flow, connection);
}

/** Bytes the intercepting server could not read as HTTP, inside TLS or not. */
export function clientErrorFlow(
  error: ClientError,
  connection: FrontConnection,
  names: FakeIpNames,
): Flow {
  const hostHeader = hostFromAuthority(error.request.headers.host);
  const flow: Flow = {
    id: error.request.id,
    t: error.request.timingEvents.startTime,
    protocol: connection.kind === 'tls' ? 'tls' : 'tcp',
    destination: endpoint(connection, names, error.request.destination, [
      hostHeader,
      connection.sni,
    ]),
    client: connection.client,
    error: `client-error:${error.errorCode ?? 'unknown'}`,
  };
  if (connection.kind === 'tls') {
    flow.tls =
      connection.sni === undefined ? { decrypted: true } : { sni: connection.sni, decrypted: true };
  } else {
    flow.raw = connection.firstBytes.toString('base64');
  }
  return withUnknownDestination(flow, connection);
}

/**
 * A connection that carried neither TLS nor HTTP, kept whole by the front; or one that ended
 * before it was handed on, or whose TLS the front terminated and the client broke off, with what
 * it had sent.
 */
export function rawFlow(
  connection: FrontConnection,
  bytes: Buffer,
  names: FakeIpNames,
  frontAddress: { host: string; port: number },
): Flow {
  // Without a target the client connected to the front itself (proxy mode) or the edge could
  // not say where it was going: the front is the only destination known.
  const destination =
    connection.target === undefined
      ? { ip: frontAddress.host, port: frontAddress.port }
      : endpoint(connection, names, undefined, [connection.sni]);
  const flow: Flow = {
    id: connection.id,
    t: connection.t,
    protocol: connection.kind === 'tls' ? 'tls' : 'tcp',
    destination,
    client: connection.client,
    raw: bytes.toString('base64'),
  };
  if (connection.kind === 'tls') {
    flow.tls =
      connection.sni === undefined
        ? { decrypted: false }
        : { sni: connection.sni, decrypted: false };
  }
  if (connection.failure !== undefined) flow.error = connection.failure;
  return withUnknownDestination(flow, connection);
}

function endpoint(
  connection: FrontConnection,
  names: FakeIpNames,
  reported: { hostname: string; port: number } | undefined,
  nameCandidates: Array<string | undefined>,
): FlowEndpoint {
  const target =
    connection.target ?? (reported ? { host: reported.hostname, port: reported.port } : undefined);
  const targetHost = target?.host ?? '';
  const targetIsIp = isIpLiteral(targetHost);
  // A tunnel opened by name never went through the sinkhole: give it the run's address for that name.
  const ip =
    targetIsIp || targetHost === '' ? plainIp(targetHost) : (names.addressFor(targetHost) ?? '');
  const host =
    nameCandidates.find(
      (name): name is string => name !== undefined && name !== '' && !isIpLiteral(name),
    ) ??
    names.nameFor(ip) ??
    (targetIsIp || targetHost === '' ? undefined : targetHost) ??
    (ip === '' ? undefined : ip);
  const result: FlowEndpoint = { ip, port: target?.port ?? 0 };
  if (host !== undefined) result.host = host;
  return result;
}

/**
 * A caged connection the edge could not place: its destination is only the Host/SNI guess or
 * the front, and the flow says so.
 */
function withUnknownDestination(flow: Flow, connection: FrontConnection): Flow {
  if (connection.via !== 'transparent' || connection.target !== undefined) return flow;
  flow.error =
    flow.error === undefined ? DESTINATION_UNKNOWN : `${flow.error};${DESTINATION_UNKNOWN}`;
  return flow;
}

/** `host:port`, `[v6]:port` or `host` → host. */
export function hostFromAuthority(authority: string | string[] | undefined): string | undefined {
  if (typeof authority !== 'string' || authority === '') return undefined;
  const bracketed = /^\[([^\]]+)\]/.exec(authority);
  if (bracketed?.[1]) return bracketed[1];
  return authority.split(':')[0];
}

function urlWithName(url: string, name: string | undefined): string {
  if (name === undefined || isIpLiteral(name)) return url;
  try {
    const parsed = new URL(url);
    if (!isIpLiteral(parsed.hostname)) return url;
    parsed.hostname = name;
    return parsed.toString();
  } catch {
    return url;
  }
}
