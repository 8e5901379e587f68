import { randomUUID } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { CanarytrapError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { classifyOpening, type Opening } from './opening.ts';
import { readClientHelloSni } from './tls-client-hello.ts';
import type { ListenAddress } from './types.ts';

/** One client connection as the front saw it. */
export interface ProxiedConnection {
  id: string;
  /** When the client connected, ms since the epoch. */
  t: number;
  client: { ip: string; port: number };
  /** The CONNECT target (`host`, `port`) when the client opened a tunnel. */
  target?: { host: string; port: number };
  kind: Opening;
  sni?: string;
  /** The first bytes the client sent after any CONNECT: a ClientHello, a request head. */
  firstBytes: Buffer;
}

export interface ProxyFrontOptions {
  host: string;
  /** Port of the intercepting HTTP server (mockttp) that TLS and HTTP are handed to. */
  backendPort: number;
  logger: Logger;
  /** A connection that carried neither TLS nor HTTP ended; `bytes` is all the client sent. */
  onRawConnection(connection: ProxiedConnection, bytes: Buffer): void;
}

/** CONNECT heads longer than this are not a proxy request: the bytes are kept as raw. */
const MAX_HEAD_BYTES = 16 * 1024;
/** Raw tunnels keep at most this much of what the client sent. */
const MAX_RAW_BYTES = 1024 * 1024;
/** mockttp reports some events after the socket closed; keep the connection known that long. */
const FORGET_AFTER_MS = 10_000;

/**
 * The proxy port clients see. It answers CONNECT itself, looks at the first bytes in the
 * tunnel, and hands TLS and HTTP to the intercepting server over loopback; anything else it
 * keeps and records. It never opens a connection anywhere but to that server, so nothing a
 * client sends can leave the host, whatever it sends. Knowing each connection here is also
 * what lets flows name the true client and the CONNECT target, which mockttp does not report
 * for failed TLS handshakes.
 */
export class ProxyFront {
  private readonly byBackendPort = new Map<number, ProxiedConnection>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly options: ProxyFrontOptions,
    readonly address: ListenAddress,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  static async start(options: ProxyFrontOptions): Promise<ProxyFront> {
    const server = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, options.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      throw new CanarytrapError('proxy-bind-failed', `cannot listen on ${options.host} (tcp)`, {
        cause: error,
        hint: 'pass a loopback address this host has as the capture host',
      });
    }
    const bound = server.address();
    if (bound === null || typeof bound === 'string') throw new Error('tcp server has no port');
    return new ProxyFront(server, options, { host: bound.address, port: bound.port });
  }

  /** The client connection behind a socket the intercepting server accepted from this front. */
  connectionForBackendPort(port: number | undefined): ProxiedConnection | undefined {
    return port === undefined ? undefined : this.byBackendPort.get(port);
  }

  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
      for (const timer of this.timers) clearTimeout(timer);
      this.timers.clear();
    });
    return this.stopping;
  }

  private accept(client: Socket): void {
    this.track(client);
    const start = {
      id: randomUUID(),
      t: Date.now(),
      client: { ip: plainIp(client.remoteAddress), port: client.remotePort ?? 0 },
    };
    let head = Buffer.alloc(0);
    let target: ProxiedConnection['target'];
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      if (target === undefined && head.subarray(0, 8).toString('latin1') === 'CONNECT ') {
        const end = head.indexOf('\r\n\r\n');
        if (end === -1 && head.length <= MAX_HEAD_BYTES) return;
        // An unreadable CONNECT head stays in place: the intercepting server answers it with 400.
        target =
          end === -1 ? undefined : parseConnectTarget(head.subarray(0, end).toString('latin1'));
        if (target !== undefined) {
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
      const sni = kind === 'tls' ? readClientHelloSni(head) : undefined;
      const connection: ProxiedConnection = { ...start, kind, firstBytes: head };
      if (target !== undefined) connection.target = target;
      if (sni !== undefined) connection.sni = sni;
      if (kind === 'raw') this.keepRaw(client, connection);
      else this.handToBackend(client, connection);
    };
    // A connection closed (or cut at stop) before its opening was clear is still a contact
    // worth recording, with whatever bytes it sent.
    const onEnd = (): void => {
      client.off('data', onData);
      const connection: ProxiedConnection = { ...start, kind: 'raw', firstBytes: head };
      if (target !== undefined) connection.target = target;
      this.options.onRawConnection(connection, head);
    };
    client.on('data', onData);
    client.once('close', onEnd);
  }

  private keepRaw(client: Socket, connection: ProxiedConnection): void {
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

  private handToBackend(client: Socket, connection: ProxiedConnection): void {
    const backend = connect(this.options.backendPort, this.options.host);
    this.track(backend);
    backend.once('connect', () => {
      const port = backend.localPort;
      if (port === undefined) return;
      this.byBackendPort.set(port, connection);
      backend.once('close', () => this.forgetLater(port, connection));
      if (connection.target === undefined) {
        splice(client, backend, connection.firstBytes);
        return;
      }
      // Replaying the CONNECT lets the intercepting server see the tunnel's target as usual.
      const authority = formatAuthority(connection.target);
      backend.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
      awaitConnectReply(backend, (ok, rest) => {
        if (!ok) {
          this.options.logger.warn({ target: authority }, 'intercepting server refused a tunnel');
          client.destroy();
          backend.destroy();
          return;
        }
        if (rest.length > 0) client.write(rest);
        splice(client, backend, connection.firstBytes);
      });
    });
    backend.on('error', (error) => {
      this.options.logger.warn({ err: error }, 'connection to the intercepting server failed');
      client.destroy();
    });
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', (error) => this.options.logger.debug({ err: error }, 'proxy socket error'));
    socket.once('close', () => this.sockets.delete(socket));
  }

  private forgetLater(port: number, connection: ProxiedConnection): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.byBackendPort.get(port) === connection) this.byBackendPort.delete(port);
    }, FORGET_AFTER_MS);
    timer.unref();
    this.timers.add(timer);
  }
}

function splice(client: Socket, backend: Socket, firstBytes: Buffer): void {
  backend.write(firstBytes);
  client.pipe(backend);
  backend.pipe(client);
  client.once('close', () => backend.destroy());
  backend.once('close', () => client.destroy());
}

function awaitConnectReply(backend: Socket, done: (ok: boolean, rest: Buffer) => void): void {
  let reply = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    reply = Buffer.concat([reply, chunk]);
    const end = reply.indexOf('\r\n\r\n');
    if (end === -1) return;
    backend.off('data', onData);
    backend.pause();
    const statusLine = reply.subarray(0, reply.indexOf('\r\n')).toString('latin1');
    done(/^HTTP\/\d(\.\d)? 200\b/.test(statusLine), reply.subarray(end + 4));
  };
  backend.on('data', onData);
}

/** `CONNECT host:port HTTP/1.1` → { host, port }; IPv6 targets come bracketed. */
export function parseConnectTarget(head: string): ProxiedConnection['target'] {
  const authority = head.split('\r\n', 1)[0]?.split(' ')[1];
  if (authority === undefined) return undefined;
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(authority);
  if (!match?.[1] || !match[2]) return undefined;
  const port = Number(match[2]);
  return port > 0 && port < 65536 ? { host: match[1], port } : undefined;
}

function formatAuthority(target: { host: string; port: number }): string {
  return target.host.includes(':')
    ? `[${target.host}]:${target.port}`
    : `${target.host}:${target.port}`;
}

export function plainIp(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}
