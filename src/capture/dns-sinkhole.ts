import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { CanarytrapError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { LoopbackNames, normaliseName } from './loopback-names.ts';
import type { DnsQueryRecord, ListenAddress } from './types.ts';

export interface DnsSinkholeOptions {
  /** Loopback address to listen on. */
  host: string;
  /** UDP port; default a free one. The SDK emulator sends DNS to port 53 only. */
  port?: number;
  logger: Logger;
  /** The run's address book, shared with the proxy so it can name addresses. */
  names: LoopbackNames;
  /** Called for every query answered, with the packet as received. */
  onQuery?: (record: DnsQueryRecord, packet: Buffer) => void;
}

/** Seconds clients may cache an answer: the mapping never changes within a run. */
const ANSWER_TTL = 300;

/**
 * A UDP DNS server that answers every A query with the name's loopback address from the run's
 * address book, AAAA and everything else with an empty NOERROR (so clients fall back to IPv4),
 * and records each query. It never asks any other server.
 */
export class DnsSinkhole {
  private readonly records: DnsQueryRecord[] = [];
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly options: DnsSinkholeOptions,
    readonly address: ListenAddress,
  ) {
    socket.on('message', (message, remote) => this.answer(message, remote));
    socket.on('error', (error) =>
      options.logger.error({ err: error }, 'dns sinkhole socket error'),
    );
  }

  static async start(options: DnsSinkholeOptions): Promise<DnsSinkhole> {
    const socket = createSocket(options.host.includes(':') ? 'udp6' : 'udp4');
    try {
      await bindPort(socket, options.host, options.port ?? 0);
    } catch (error) {
      socket.close();
      throw new CanarytrapError(
        'dns-sinkhole-bind-failed',
        `cannot listen on ${options.host}:${options.port ?? 0} (udp)`,
        {
          cause: error,
          hint:
            options.port !== undefined && options.port < 1024
              ? 'ports below 1024 need root or CAP_NET_BIND_SERVICE for the worker'
              : 'pass a loopback address this host has as the capture host',
        },
      );
    }
    const bound = socket.address();
    return new DnsSinkhole(socket, options, { host: bound.address, port: bound.port });
  }

  queries(): DnsQueryRecord[] {
    return [...this.records];
  }

  hostForIp(ip: string): string | undefined {
    return this.options.names.nameFor(ip);
  }

  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => this.socket.close(() => resolve()));
    return this.stopping;
  }

  private answer(message: Buffer, remote: RemoteInfo): void {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch (error) {
      // Hostile or broken clients must not stop the sinkhole: drop the packet, keep serving.
      this.options.logger.warn(
        { err: error, client: `${remote.address}:${remote.port}`, bytes: message.length },
        'dropped malformed dns packet',
      );
      return;
    }
    if (query.type === 'response') return;
    const answers: dnsPacket.Answer[] = [];
    for (const question of query.questions ?? []) {
      const name = normaliseName(question.name);
      const ip = question.type === 'A' ? this.options.names.addressFor(name) : null;
      if (ip !== null) answers.push({ type: 'A', name: question.name, ttl: ANSWER_TTL, data: ip });
      const record: DnsQueryRecord = {
        t: Date.now(),
        name,
        type: question.type,
        answer: ip,
        client: { ip: remote.address, port: remote.port },
      };
      this.records.push(record);
      this.options.onQuery?.(record, message);
    }
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id ?? 0,
      flags:
        dnsPacket.AUTHORITATIVE_ANSWER |
        dnsPacket.RECURSION_AVAILABLE |
        (query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0),
      questions: query.questions ?? [],
      answers,
    });
    this.socket.send(response, remote.port, remote.address, (error) => {
      if (error) this.options.logger.warn({ err: error }, 'could not send dns answer');
    });
  }
}

function bindPort(socket: Socket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    socket.once('error', onError);
    socket.bind(port, host, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}
