import type { RemoteInfo, Socket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import type { Logger } from '../log.ts';
import { normaliseName, plainIp, type HostPort } from './addresses.ts';
import type { FakeIpNames } from './fake-ip-names.ts';
import { bindUdp, udpAddress } from './listen.ts';
import {
  lookupOriginalDestination,
  type OriginalDestinationLookup,
} from './original-destination.ts';
import type { DnsQueryRecord, ListenAddress } from './types.ts';

export interface DnsSinkholeOptions {
  /** Address to listen on: loopback, or the cage's gateway. */
  host: string;
  /** UDP port; default a free one. The SDK emulator sends DNS to port 53 only. */
  port?: number;
  logger: Logger;
  /** The run's address book, shared with the front so it can name addresses. */
  names: FakeIpNames;
  /**
   * In a cage, queries to any resolver are redirected here; this says which resolver the device
   * meant, recorded as `resolver`. Absent outside a cage, where devices are told the sinkhole.
   */
  originalDestination?: OriginalDestinationLookup;
  /** Called for every question answered, with the packet as received, in arrival order. */
  onQuery?: (record: DnsQueryRecord, packet: Buffer) => void;
}

/** Seconds clients may cache an answer: the mapping never changes within a run. */
const ANSWER_TTL = 300;

/**
 * A UDP DNS server that answers every A query with the name's fake IP from the run's address
 * book, AAAA and everything else with an empty NOERROR (so clients fall back to IPv4), and
 * records each query. It never asks any other server.
 */
export class DnsSinkhole {
  private readonly records: DnsQueryRecord[] = [];
  /** Records wait for their resolver lookup; the chain keeps them in arrival order. */
  private recording: Promise<void> = Promise.resolve();
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
    const socket = await bindUdp(options.host, options.port ?? 0, 'dns-sinkhole-bind-failed');
    return new DnsSinkhole(socket, options, udpAddress(socket));
  }

  queries(): DnsQueryRecord[] {
    return [...this.records];
  }

  hostForIp(ip: string): string | undefined {
    return this.options.names.nameFor(ip);
  }

  /** Closes the socket once every query received so far is recorded. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await new Promise<void>((resolve) => this.socket.close(() => resolve()));
      await this.recording;
    })();
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
    const t = Date.now();
    const client = { ip: plainIp(remote.address), port: remote.port };
    const answers: dnsPacket.Answer[] = [];
    const questions: Array<Omit<DnsQueryRecord, 'resolver'>> = [];
    for (const question of query.questions ?? []) {
      const name = normaliseName(question.name);
      const ip = question.type === 'A' ? (this.options.names.addressFor(name) ?? null) : null;
      if (ip !== null) answers.push({ type: 'A', name: question.name, ttl: ANSWER_TTL, data: ip });
      if (question.type === 'A' && ip === null)
        this.options.logger.warn({ name }, 'fake-IP range spent: query left unanswered');
      questions.push({ t, name, type: question.type, answer: ip, client });
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
    // The answer does not wait for the record: the device must not see the capture's latency.
    this.socket.send(response, remote.port, remote.address, (error) => {
      if (error) this.options.logger.warn({ err: error }, 'could not send dns answer');
    });
    this.record(questions, message, client);
  }

  private record(
    questions: Array<Omit<DnsQueryRecord, 'resolver'>>,
    packet: Buffer,
    client: HostPort,
  ): void {
    const lookup = this.options.originalDestination;
    if (lookup === undefined) {
      for (const question of questions) this.keep(question, packet);
      return;
    }
    const resolver = lookupOriginalDestination(lookup, 'udp', client, this.options.logger);
    this.recording = this.recording.then(async () => {
      const found = await resolver;
      for (const question of questions)
        this.keep(found === undefined ? question : { ...question, resolver: found }, packet);
    });
  }

  private keep(record: DnsQueryRecord, packet: Buffer): void {
    this.records.push(record);
    try {
      this.options.onQuery?.(record, packet);
    } catch (error) {
      this.options.logger.error({ err: error }, 'dns query listener failed');
    }
  }
}
