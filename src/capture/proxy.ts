import { getLocal, type CompletedRequest, type CompletedResponse, type Mockttp } from 'mockttp';
import { CanarytrapError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { AddressCertificates } from './address-certificates.ts';
import { plainIp } from './addresses.ts';
import { guardBackend } from './backend-guard.ts';
import type { FakeIpNames } from './fake-ip-names.ts';
import type { Flow } from './flow.ts';
import {
  clientErrorFlow,
  hostFromAuthority,
  httpFlow,
  rawFlow,
  tlsFailureFlow,
} from './flow-builders.ts';
import { BACKEND_HOST, CaptureFront, type FrontConnection, type FrontMode } from './front.ts';
import { pickResponder } from './responders.ts';
import type { ListenAddress, Responder } from './types.ts';

export interface InterceptionProxyOptions {
  /** Address clients connect to: loopback (proxy mode) or the cage's gateway (transparent). */
  host: string;
  mode: FrontMode;
  ca: { certificatePem: string; keyPem: string };
  responders: readonly Responder[];
  /** The run's address book, to name the addresses clients connect to. */
  names: FakeIpNames;
  logger: Logger;
  onFlow(flow: Flow): void;
}

/**
 * The run's TCP interception: a front that owns every client connection (see CaptureFront) and
 * a mockttp server, with the run's CA, that decrypts and answers every request itself from the
 * responders (TLS without SNI to an address literal is terminated by the front instead, with a
 * certificate for that address from the same CA: mockttp's name only DNS names). No rule
 * forwards upstream, and mockttp's unknown-protocol passthrough stays off.
 * Only what came through the front is evidence: mockttp is reachable on 127.0.0.1 from the front
 * alone, and anything it reports about another client is dropped and logged.
 */
export class InterceptionProxy {
  private readonly requests = new Map<string, CompletedRequest>();
  private readonly responses = new Map<string, CompletedResponse>();
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly server: Mockttp,
    private readonly front: CaptureFront,
    private readonly options: InterceptionProxyOptions,
  ) {}

  get address(): ListenAddress {
    return this.front.address;
  }

  /** mockttp's own port; nothing but the front may use it. */
  get backendPort(): number {
    return this.server.port;
  }

  static async start(options: InterceptionProxyOptions): Promise<InterceptionProxy> {
    const server = getLocal({
      https: { cert: options.ca.certificatePem, key: options.ca.keyPem },
      recordTraffic: false,
      suggestChanges: false,
      cors: false,
    });
    let front: CaptureFront | undefined;
    try {
      await server.start();
      const sink: { proxy?: InterceptionProxy } = {};
      front = await CaptureFront.start({
        host: options.host,
        mode: options.mode,
        backendPort: server.port,
        logger: options.logger,
        addressCertificates: new AddressCertificates(options.ca),
        onRawConnection: (connection, bytes) => sink.proxy?.emitRaw(connection, bytes),
      });
      const admitted = front;
      guardBackend(
        server,
        (socket) =>
          plainIp(socket.localAddress) === BACKEND_HOST &&
          admitted.connectionForBackendPeer(socket.remoteAddress, socket.remotePort) !== undefined,
        (socket) =>
          options.logger.warn(
            { client: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}` },
            'refused a connection to the interception server that did not come through the front',
          ),
      );
      // Set before any connection can arrive: no I/O callback runs between these two lines.
      const proxy = new InterceptionProxy(server, front, options);
      sink.proxy = proxy;
      await proxy.subscribe();
      return proxy;
    } catch (error) {
      await front?.stop();
      await server.stop();
      throw new CanarytrapError('proxy-start-failed', 'the interception proxy did not start', {
        cause: error,
      });
    }
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const results = await Promise.allSettled([this.front.stop(), this.server.stop()]);
    // Requests whose answer never went out are flows all the same.
    for (const request of this.requests.values()) this.emitHttp(request, undefined);
    this.requests.clear();
    this.responses.clear();
    for (const result of results) {
      if (result.status === 'rejected') {
        this.options.logger.warn({ err: result.reason }, 'proxy did not stop cleanly');
      }
    }
  }

  private async subscribe(): Promise<void> {
    const { names, responders } = this.options;
    await this.server.forAnyRequest().thenCallback((request) => {
      const connection = this.front.connectionForBackendPeer(
        request.remoteIpAddress,
        request.remotePort,
      );
      // The guard cuts strangers on arrival; one that slipped in before it was set gets nothing.
      if (connection === undefined) return 'reset';
      const host =
        hostFromAuthority(request.headers.host ?? request.headers[':authority']) ??
        connection.sni ??
        '';
      const answer = pickResponder(responders, host, request.path);
      return { statusCode: answer.status, headers: answer.headers ?? {}, body: answer.body };
    });
    await this.server.on('request', (request) => {
      const response = this.responses.get(request.id);
      if (response === undefined) this.requests.set(request.id, request);
      else this.emitHttp(request, response);
    });
    await this.server.on('response', (response) => {
      const request = this.requests.get(response.id);
      if (request === undefined) this.responses.set(response.id, response);
      else this.emitHttp(request, response);
    });
    await this.server.on('abort', (aborted) => {
      const request = this.requests.get(aborted.id);
      if (request !== undefined) this.emitHttp(request, undefined);
    });
    await this.server.on('tls-client-error', (failure) => {
      const connection = this.fromFront(failure.remoteIpAddress, failure.remotePort, 'tls');
      if (connection !== undefined) this.emit(tlsFailureFlow(failure, connection, names));
    });
    await this.server.on('client-error', (error) => {
      const { remoteIpAddress, remotePort } = error.request;
      const connection = this.fromFront(remoteIpAddress, remotePort, 'client-error');
      if (connection !== undefined) this.emit(clientErrorFlow(error, connection, names));
    });
  }

  private emitHttp(request: CompletedRequest, response: CompletedResponse | undefined): void {
    this.requests.delete(request.id);
    this.responses.delete(request.id);
    const connection = this.fromFront(request.remoteIpAddress, request.remotePort, 'request');
    if (connection !== undefined)
      this.emit(httpFlow(request, response, connection, this.options.names));
  }

  private emitRaw(connection: FrontConnection, bytes: Buffer): void {
    this.emit(rawFlow(connection, bytes, this.options.names, this.address));
  }

  /** The front's connection behind a mockttp event; anything else is not evidence, only a log line. */
  private fromFront(
    ip: string | undefined,
    port: number | undefined,
    what: string,
  ): FrontConnection | undefined {
    const connection = this.front.connectionForBackendPeer(ip, port);
    if (connection === undefined) {
      this.options.logger.warn(
        { client: `${ip ?? '?'}:${port ?? '?'}`, event: what },
        'discarded traffic that did not come through the capture front',
      );
    }
    return connection;
  }

  private emit(flow: Flow): void {
    try {
      this.options.onFlow(flow);
    } catch (error) {
      this.options.logger.error({ err: error, flow: flow.id }, 'flow listener failed');
    }
  }
}
