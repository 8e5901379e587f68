import { randomUUID } from 'node:crypto';
import type { RemoteInfo, Socket } from 'node:dgram';
import type { Logger } from '../log.ts';
import { plainIp, type HostPort } from './addresses.ts';
import type { FakeIpNames } from './fake-ip-names.ts';
import type { Flow, FlowEndpoint } from './flow.ts';
import { bindUdp, udpAddress } from './listen.ts';
import {
  DESTINATION_UNKNOWN,
  lookupOriginalDestination,
  type OriginalDestinationLookup,
} from './original-destination.ts';
import type { ListenAddress } from './types.ts';

export interface UdpSinkOptions {
  /** The cage's gateway (or loopback in tests). */
  host: string;
  logger: Logger;
  /** The run's address book, to name fake-IP destinations. */
  names: FakeIpNames;
  /** Where each redirected datagram was going (the cage's conntrack). */
  originalDestination: OriginalDestinationLookup;
  /** Called for every datagram, in arrival order. */
  onFlow(flow: Flow): void;
}

/**
 * Where the cage's edge sends every UDP datagram that is not DNS. Each one is a `udp` flow with
 * its bytes and its original destination; nothing is ever sent back, so a device learns nothing
 * from it beyond what silence tells.
 */
export class UdpSink {
  /** Flows wait for their lookup; the chain keeps them in arrival order. */
  private recording: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly options: UdpSinkOptions,
    readonly address: ListenAddress,
  ) {
    socket.on('message', (message, remote) => this.receive(message, remote));
    socket.on('error', (error) => options.logger.error({ err: error }, 'udp sink socket error'));
  }

  static async start(options: UdpSinkOptions): Promise<UdpSink> {
    const socket = await bindUdp(options.host, 0, 'udp-sink-bind-failed');
    return new UdpSink(socket, options, udpAddress(socket));
  }

  /** Closes the socket once every datagram received so far is recorded. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await new Promise<void>((resolve) => this.socket.close(() => resolve()));
      await this.recording;
    })();
    return this.stopping;
  }

  private receive(message: Buffer, remote: RemoteInfo): void {
    const t = Date.now();
    const client: HostPort = { ip: plainIp(remote.address), port: remote.port };
    const { originalDestination, logger } = this.options;
    const destination = lookupOriginalDestination(originalDestination, 'udp', client, logger);
    this.recording = this.recording.then(async () => {
      const flow = this.flow(t, client, message, await destination);
      try {
        this.options.onFlow(flow);
      } catch (error) {
        logger.error({ err: error, flow: flow.id }, 'flow listener failed');
      }
    });
  }

  private flow(t: number, client: HostPort, bytes: Buffer, to: HostPort | undefined): Flow {
    const flow: Flow = {
      id: randomUUID(),
      t,
      protocol: 'udp',
      destination: to === undefined ? this.ownAddress() : this.named(to),
      client,
      raw: bytes.toString('base64'),
    };
    if (to === undefined) flow.error = DESTINATION_UNKNOWN;
    return flow;
  }

  private named(to: HostPort): FlowEndpoint {
    return { host: this.options.names.nameFor(to.ip) ?? to.ip, ip: to.ip, port: to.port };
  }

  private ownAddress(): FlowEndpoint {
    return { ip: this.address.host, port: this.address.port };
  }
}
