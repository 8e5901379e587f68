import { randomUUID } from 'node:crypto';
import { connect, type Server, type Socket } from 'node:net';
import { connect as connectTls, TLSSocket, type SecureContext } from 'node:tls';
import type { Logger } from '../log.ts';
import { isIpLiteral, plainIp, type HostPort } from './addresses.ts';
import {
  awaitConnectReply,
  formatAuthority,
  parseConnectTarget,
  type Target,
} from './connect-head.ts';
import { listenTcp, tcpAddress } from './listen.ts';
import { classifyOpening, type Opening } from './opening.ts';
import {
  lookupOriginalDestination,
  type OriginalDestinationLookup,
} from './original-destination.ts';
import { readClientHelloSni } from './tls-client-hello.ts';
import type { ListenAddress } from './types.ts';

/**
 * How clients reach the front. `proxy`: they were told to use it as an HTTP proxy and say where
 * they go with CONNECT (uncaged runs). `transparent`: the cage's edge redirects every connection
 * here as it is, and says where each one was going (caged runs).
 */
export type FrontMode =
  { kind: 'proxy' } | { kind: 'transparent'; originalDestination: OriginalDestinationLookup };

/** One client connection as the front saw it. */
export interface FrontConnection {
  id: string;
  /** When the client connected, ms since the epoch. */
  t: number;
  client: HostPort;
  via: FrontMode['kind'];
  /**
   * Where the client was going: the CONNECT target (a name or an address), or the original
   * destination the edge reported. Absent when neither said.
   */
  target?: Target;
  kind: Opening;
  sni?: string;
  /** The first bytes the client sent after any CONNECT: a ClientHello, a request head. */
  firstBytes: Buffer;
  /** Why nothing of it could be read, where the front itself saw why: `tls-handshake:<cause>`. */
  failure?: string;
}

export interface CaptureFrontOptions {
  host: string;
  mode: FrontMode;
  /** Port of the intercepting HTTP server (mockttp) on 127.0.0.1 that TLS and HTTP go to. */
  backendPort: number;
  logger: Logger;
  /**
   * Certificates for IP addresses from the run's CA. With them, TLS without SNI to an address
   * literal is terminated here (see terminateTls); without, it goes to the intercepting server,
   * whose certificate names no address.
   */
  addressCertificates?: { contextFor(ip: string): Promise<SecureContext> };
  /**
   * A connection that carried neither TLS nor HTTP ended, or one whose TLS the front terminated
   * failed (`connection.failure`); `bytes` is all the client sent.
   */
  onRawConnection(connection: FrontConnection, bytes: Buffer): void;
}

/** The intercepting server is reached over loopback only; the guard admits nothing else. */
export const BACKEND_HOST = '127.0.0.1';
/** CONNECT heads longer than this are not a proxy request: the bytes are kept as raw. */
const MAX_HEAD_BYTES = 16 * 1024;
/** Raw connections keep at most this much of what the client sent. */
const MAX_RAW_BYTES = 1024 * 1024;
/** mockttp reports some events after the socket closed; keep the connection known that long. */
const FORGET_AFTER_MS = 10_000;

/**
 * The one TCP port devices reach. It looks at the first bytes of each connection (after
 * answering CONNECT itself, in proxy mode), hands TLS and HTTP to the intercepting server over
 * loopback, and keeps and records anything else. It never opens a connection anywhere but to
 * that server, so nothing a client sends can leave the host, whatever it sends. Knowing each
 * connection here is also what lets flows name the true client and destination, which mockttp
 * does not report for failed TLS handshakes, and what lets the backend refuse everyone else.
 */
export class CaptureFront {
  private readonly byBackendPort = new Map<number, FrontConnection>();
  /** Sockets to the backend whose 'connect' has not fired yet: the backend may see them first. */
  private readonly connecting = new Map<Socket, FrontConnection>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Connections waiting for their original destination before they can go anywhere. */
  private readonly pending = new Set<Promise<void>>();
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly options: CaptureFrontOptions,
    readonly address: ListenAddress,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  static async start(options: CaptureFrontOptions): Promise<CaptureFront> {
    const server = await listenTcp(options.host, 'capture-front-bind-failed');
    return new CaptureFront(server, options, tcpAddress(server));
  }

  /**
   * The client connection behind a peer of the intercepting server, if this front opened that
   * socket; undefined for anyone else, who must not be served or recorded.
   */
  connectionForBackendPeer(
    ip: string | undefined,
    port: number | undefined,
  ): FrontConnection | undefined {
    if (port === undefined || plainIp(ip) !== BACKEND_HOST) return undefined;
    const known = this.byBackendPort.get(port);
    if (known !== undefined) return known;
    // The backend can accept a socket before this side's 'connect' callback has run; its local
    // port is already bound then (connect() was issued), so it can be matched by asking it.
    for (const [socket, connection] of this.connecting) {
      if (socket.localPort === port) return connection;
    }
    return undefined;
  }

  /** Stops listening, cuts every connection and records what each had sent. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const socket of this.sockets) socket.destroy();
      for (const timer of this.timers) clearTimeout(timer);
      this.timers.clear();
      await closed;
      while (this.pending.size > 0) await Promise.all([...this.pending]);
    })();
    return this.stopping;
  }

  private accept(client: Socket): void {
    this.track(client);
    const start = {
      id: randomUUID(),
      t: Date.now(),
      client: { ip: plainIp(client.remoteAddress), port: client.remotePort ?? 0 },
      via: this.options.mode.kind,
    };
    // Asked at once: the edge's record of the connection is surest while it is fresh.
    const located = this.locate(start.client);
    let head = Buffer.alloc(0);
    let tunnel: Target | undefined;
    const target = (): Promise<Target | undefined> => located ?? Promise.resolve(tunnel);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      if (
        this.options.mode.kind === 'proxy' &&
        tunnel === undefined &&
        head.subarray(0, 8).toString('latin1') === 'CONNECT '
      ) {
        const end = head.indexOf('\r\n\r\n');
        if (end === -1 && head.length <= MAX_HEAD_BYTES) return;
        // An unreadable CONNECT head stays in place: the intercepting server answers it with 400.
        tunnel =
          end === -1 ? undefined : parseConnectTarget(head.subarray(0, end).toString('latin1'));
        if (tunnel !== undefined) {
          head = head.subarray(end + 4);
          client.write('HTTP/1.1 200 Connection established\r\n\r\n');
          if (head.length === 0) return;
        }
      }
      const kind = classifyOpening(head);
      if (kind === 'undecided') return;
      client.off('data', onData);
      client.off('close', onEnd);
      client.pause();
      const firstBytes = head;
      this.settle(target(), (where) => {
        const connection = describe(start, kind, firstBytes, where);
        // Cut (or stopped) while the edge was being asked: what it sent is all there is.
        if (client.destroyed || this.stopping !== undefined)
          this.options.onRawConnection(connection, firstBytes);
        else if (kind === 'raw') this.keepRaw(client, connection);
        else if (this.terminatesTls(connection)) this.terminateTls(client, connection);
        else this.handToBackend(client, connection, connection.firstBytes);
      });
    };
    // A connection closed (or cut at stop) before its opening was clear is still a contact
    // worth recording, with whatever bytes it sent: a silent one is held open until then.
    const onEnd = (): void => {
      client.off('data', onData);
      const bytes = head;
      this.settle(target(), (where) =>
        this.options.onRawConnection(describe(start, 'raw', bytes, where), bytes),
      );
    };
    client.on('data', onData);
    client.once('close', onEnd);
  }

  private locate(client: HostPort): Promise<Target | undefined> | undefined {
    const mode = this.options.mode;
    if (mode.kind === 'proxy') return undefined;
    return lookupOriginalDestination(
      mode.originalDestination,
      'tcp',
      client,
      this.options.logger,
    ).then((found) => (found === undefined ? undefined : { host: found.ip, port: found.port }));
  }

  private settle(
    target: Promise<Target | undefined>,
    then: (target: Target | undefined) => void,
  ): void {
    const settled: Promise<void> = target
      .then((where) => {
        try {
          then(where);
        } catch (error) {
          this.options.logger.error({ err: error }, 'front connection handler failed');
        }
      })
      .finally(() => this.pending.delete(settled));
    this.pending.add(settled);
  }

  private keepRaw(client: Socket, connection: FrontConnection): void {
    const chunks: Buffer[] = [connection.firstBytes];
    let kept = connection.firstBytes.length;
    client.on('data', (chunk: Buffer) => {
      if (kept >= MAX_RAW_BYTES) return;
      const part = chunk.subarray(0, MAX_RAW_BYTES - kept);
      chunks.push(part);
      kept += part.length;
    });
    client.once('close', () => this.options.onRawConnection(connection, Buffer.concat(chunks)));
    client.resume();
  }

  private terminatesTls(connection: FrontConnection): boolean {
    return (
      this.options.addressCertificates !== undefined &&
      connection.kind === 'tls' &&
      connection.sni === undefined &&
      connection.target !== undefined &&
      isIpLiteral(connection.target.host)
    );
  }

  /**
   * TLS without SNI to an address literal: the client checks that address against the server's
   * certificate, and the intercepting server issues certificates for names only. The front
   * answers the handshake with a certificate for the address from the run's CA and hands what
   * the client then sends to the intercepting server inside TLS of its own, so the request is
   * recorded like any HTTPS request. A client that sends nothing over the session refused the
   * certificate (TLS 1.3 clients check it after the server finished): that is a failed handshake.
   */
  private terminateTls(client: Socket, connection: FrontConnection): void {
    const ip = plainIp(connection.target?.host.replace(/^\[|\]$/g, ''));
    const failed = (cause: string): void =>
      this.options.onRawConnection(
        { ...connection, failure: `tls-handshake:${cause}` },
        connection.firstBytes,
      );
    const context = this.options.addressCertificates?.contextFor(ip);
    if (context === undefined) return;
    const started: Promise<void> = context
      .then(
        (secureContext) => {
          if (client.destroyed || this.stopping !== undefined) {
            failed('closed');
            return;
          }
          client.unshift(connection.firstBytes);
          const session = new TLSSocket(client, {
            isServer: true,
            secureContext,
            ALPNProtocols: ['http/1.1'],
          });
          this.track(session);
          let cause = 'closed';
          let carried = false;
          session.on('error', (error: Error) => (cause = handshakeFailureCause(error)));
          session.once('close', () => {
            if (!carried) failed(cause);
          });
          session.once('data', (first: Buffer) => {
            carried = true;
            session.pause();
            this.handToBackend(session, connection, first, { overTls: true });
          });
        },
        (error: unknown) => {
          this.options.logger.warn({ err: error, ip }, 'no certificate for an address');
          client.destroy();
          failed('no-certificate');
        },
      )
      .finally(() => this.pending.delete(started));
    this.pending.add(started);
  }

  /**
   * Carries the connection to the intercepting server: `opening` first, then the rest. With
   * `overTls` the client's TLS was terminated here and the plaintext goes inside a TLS session
   * of the front's own (the interception server's certificate is not checked: it is ours).
   */
  private handToBackend(
    client: Socket,
    connection: FrontConnection,
    opening: Buffer,
    { overTls = false }: { overTls?: boolean } = {},
  ): void {
    const backend = connect(this.options.backendPort, BACKEND_HOST);
    this.track(backend);
    this.connecting.set(backend, connection);
    backend.once('close', () => this.connecting.delete(backend));
    backend.once('connect', () => {
      this.connecting.delete(backend);
      const port = backend.localPort;
      if (port === undefined) {
        backend.destroy();
        client.destroy();
        return;
      }
      this.byBackendPort.set(port, connection);
      backend.once('close', () => this.forgetLater(port, connection));
      const carry = (): void => {
        if (!overTls) {
          splice(client, backend, opening);
          return;
        }
        const inner = connectTls({
          socket: backend,
          rejectUnauthorized: false,
          ALPNProtocols: ['http/1.1'],
        });
        this.track(inner);
        inner.once('secureConnect', () => splice(client, inner, opening));
        inner.once('close', () => {
          client.destroy();
          backend.destroy();
        });
      };
      if (connection.target === undefined) {
        carry();
        return;
      }
      // A CONNECT to where the client was going lets the intercepting server see the
      // destination as it would from a proxy client, in both modes.
      const authority = formatAuthority(connection.target);
      backend.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
      awaitConnectReply(backend, (ok, rest) => {
        if (!ok) {
          this.options.logger.warn({ target: authority }, 'intercepting server refused a tunnel');
          client.destroy();
          backend.destroy();
          return;
        }
        // Over TLS the intercepting server says nothing before the front's ClientHello.
        if (rest.length > 0 && !overTls) client.write(rest);
        carry();
      });
    });
    backend.on('error', (error) => {
      // Once spliced, an error is one side hanging up while the other still wrote (EPIPE after
      // mockttp answered and closed): the exchange is recorded, nothing failed.
      const level = backend.connecting ? 'warn' : 'debug';
      this.options.logger[level]({ err: error }, 'connection to the intercepting server failed');
      client.destroy();
    });
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', (error) => this.options.logger.debug({ err: error }, 'front socket error'));
    socket.once('close', () => this.sockets.delete(socket));
  }

  private forgetLater(port: number, connection: FrontConnection): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.byBackendPort.get(port) === connection) this.byBackendPort.delete(port);
    }, FORGET_AFTER_MS);
    timer.unref();
    this.timers.add(timer);
  }
}

function describe(
  start: Pick<FrontConnection, 'id' | 't' | 'client' | 'via'>,
  kind: Opening,
  firstBytes: Buffer,
  target: Target | undefined,
): FrontConnection {
  const connection: FrontConnection = { ...start, kind, firstBytes };
  if (target !== undefined) connection.target = target;
  const sni = kind === 'tls' ? readClientHelloSni(firstBytes) : undefined;
  if (sni !== undefined) connection.sni = sni;
  return connection;
}

/** mockttp's words for why a client broke a handshake off, so both sources read alike. */
function handshakeFailureCause(error: Error & { code?: string }): string {
  if (/alert (certificate|bad certificate|unknown ca)/.test(error.message)) return 'cert-rejected';
  if (/no shared cipher/.test(error.message)) return 'no-shared-cipher';
  if (error.code === 'ECONNRESET') return 'reset';
  return 'unknown';
}

function splice(client: Socket, backend: Socket, firstBytes: Buffer): void {
  backend.write(firstBytes);
  client.pipe(backend);
  backend.pipe(client);
  client.once('close', () => backend.destroy());
  backend.once('close', () => client.destroy());
}
