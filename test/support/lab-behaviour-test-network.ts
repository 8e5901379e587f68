// The run's network as the behaviour engine's integration tests need it: a sinkhole-like DNS
// server on loopback and a device host whose canary data the tests look for in the captures.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import {
  instrumentationEventSchema,
  type EventOf,
  type InstrumentationEvent,
} from '../../src/android/instrumentation-events.ts';
import type { BehaviourHost, ScheduledWork, SmsRecord } from '../../src/lab/behaviour/index.ts';

/**
 * A DNS server on `host:port` (default 127.0.0.1 and a free port) that answers every A query
 * with `answer` (default 127.0.0.1), like the run's sinkhole, and records the names asked. Just enough of RFC 1035 for one question per message.
 */
export async function startDnsServer(
  options: { host?: string; port?: number; answer?: string } = {},
): Promise<{
  port: number;
  names: string[];
  close(): Promise<void>;
}> {
  const names: string[] = [];
  const socket: UdpSocket = createSocket('udp4');
  socket.on('message', (query, peer) => {
    let at = 12;
    const labels: string[] = [];
    for (let length = query[at] ?? 0; length > 0; length = query[at] ?? 0) {
      labels.push(query.subarray(at + 1, at + 1 + length).toString('latin1'));
      at += 1 + length;
    }
    const questionEnd = at + 5; // the zero byte, QTYPE, QCLASS
    const qtype = query.readUInt16BE(at + 1);
    names.push(labels.join('.'));
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // ID
    header.writeUInt16BE(0x8180, 2); // response, recursion desired and available, no error
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(qtype === 1 ? 1 : 0, 6);
    const question = query.subarray(12, questionEnd);
    const address = (options.answer ?? '127.0.0.1').split('.').map(Number);
    const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...address]);
    socket.send(
      qtype === 1 ? Buffer.concat([header, question, answer]) : Buffer.concat([header, question]),
      peer.port,
      peer.address,
    );
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  return {
    port: socket.address().port,
    names,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** The device side the engine needs, with canary data and the run's network. */
export function deviceHost(
  network: ReturnType<BehaviourHost['network']>,
  trusted: string[],
): BehaviourHost & { events: InstrumentationEvent[] } {
  const events: InstrumentationEvent[] = [];
  const sms: SmsRecord[] = [
    {
      box: 'inbox',
      address: '+15555550142',
      body: 'canary body 5e1d meet at noon',
      date: Date.UTC(2016, 9, 8),
    },
  ];
  return {
    events,
    now: () => Date.UTC(2016, 9, 8, 12),
    readSms: () => sms,
    readContacts: () => [
      { name: 'Birute Canary', phones: ['+15555550123'], emails: ['birute@example.org'] },
    ],
    readCallLog: () => [
      { number: '+15555550177', type: 1, date: Date.UTC(2016, 9, 7), duration: 42 },
    ],
    identity: () => ({
      imei: '356938035643809',
      imsi: '001010000012345',
      phoneNumber: '+15555550100',
      serial: 'LAB7SERIAL',
      androidId: 'a1b2c3d4e5f60718',
    }),
    location: () => ({ latitude: 54.69, longitude: 25.28 }),
    properties: () => ({
      'ro.product.model': 'R1 HD',
      'ro.build.version.release': '6.0',
      'ro.build.id': 'MRA58K',
    }),
    setAlarm: (_pkg: string, _tag: string, _at: number, _repeat: number, _work: ScheduledWork) =>
      undefined,
    scheduleJob: (
      _pkg: string,
      _id: number,
      _service: string,
      _period: number,
      _work: ScheduledWork,
    ) => undefined,
    onSmsReceived: () => undefined,
    setting: () => undefined,
    onSettingChanged: () => undefined,
    emit: (event) => events.push(instrumentationEventSchema.parse(event)),
    network: () => network,
    trustedCaCertificates: async () => trusted,
    pidOf: () => 1234,
  };
}

export function ofType<T extends InstrumentationEvent['type']>(
  events: InstrumentationEvent[],
  type: T,
): Array<EventOf<T>> {
  return events.filter((e): e is EventOf<T> => e.type === type);
}
