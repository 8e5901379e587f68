import { getLocal, type CompletedRequest, type CompletedResponse, type Mockttp } from 'mockttp';
import { CanarytrapError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Flow } from './flow.ts';
import {
  clientErrorFlow,
  hostFromAuthority,
  httpFlow,
  rawFlow,
  tlsFailureFlow,
} from './flow-builders.ts';
import type { LoopbackNames } from './loopback-names.ts';
import { ProxyFront, type ProxiedConnection } from './proxy-front.ts';
import { pickResponder } from './responders.ts';
import type { ListenAddress, Responder } from './types.ts';

export interface InterceptionProxyOptions {
  /** Loopback address clients connect to. */
  host: string;
  ca: { certificatePem: string; keyPem: string };
  responders: readonly Responder[];
  /** The run's address book, to name the addresses clients tunnel to. */
  names: LoopbackNames;
  logger: Logger;
  onFlow(flow: Flow): void;
}

/**
 * The run's HTTP(S) proxy: a front that owns every client connection (see ProxyFront) and a
 * mockttp server, with the run's CA, that decrypts and answers every request itself from the
 * responders. No rule forwards upstream, and mockttp's unknown-protocol passthrough stays off.
 */
export class InterceptionProxy {
  private readonly requests = new Map<string, CompletedRequest>();
  private readonly responses = new Map<string, CompletedResponse>();
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly server: Mockttp,
    private readonly front: ProxyFront,
    private readonly options: InterceptionProxyOptions,
  ) {}

  get address(): ListenAddress {
    return this.front.address;
  }

  static async start(options: InterceptionProxyOptions): Promise<InterceptionProxy> {
    const server = getLocal({
      https: { cert: options.ca.certificatePem, key: options.ca.keyPem },
      recordTraffic: false,
      suggestChanges: false,
      cors: false,
    });
    let front: ProxyFront | undefined;
    try {
      await server.start();
      const sink: { proxy?: InterceptionProxy } = {};
      front = await ProxyFront.start({
        host: options.host,
        backendPort: server.port,
        logger: options.logger,
        onRawConnection: (connection, bytes) => sink.proxy?.emitRaw(connection, bytes),
      });
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
      const connection = this.front.connectionForBackendPort(request.remotePort);
      const host =
        hostFromAuthority(request.headers.host ?? request.headers[':authority']) ??
        connection?.sni ??
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
      const connection = this.front.connectionForBackendPort(failure.remotePort);
      this.emit(tlsFailureFlow(failure, connection, names));
    });
    await this.server.on('client-error', (error) => {
      const connection = this.front.connectionForBackendPort(error.request.remotePort);
      this.emit(clientErrorFlow(error, connection, names));
    });
  }

  private emitHttp(request: CompletedRequest, response: CompletedResponse | undefined): void {
    this.requests.delete(request.id);
    this.responses.delete(request.id);
    const connection = this.front.connectionForBackendPort(request.remotePort);
    this.emit(httpFlow(request, response, connection, this.options.names));
  }

  private emitRaw(connection: ProxiedConnection, bytes: Buffer): void {
    this.emit(rawFlow(connection, bytes, this.options.names, this.address));
  }

  private emit(flow: Flow): void {
    try {
      this.options.onFlow(flow);
    } catch (error) {
      this.options.logger.error({ err: error, flow: flow.id }, 'flow listener failed');
    }
  }
}
