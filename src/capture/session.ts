import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from '../log.ts';
import { DnsSinkhole } from './dns-sinkhole.ts';
import { FakeIpNames } from './fake-ip-names.ts';
import type { Flow } from './flow.ts';
import { FlowLog } from './flow-log.ts';
import { JsonLinesWriter } from './jsonl-writer.ts';
import { listenPlan } from './listen-plan.ts';
import { InterceptionProxy } from './proxy.ts';
import { createRunCa } from './run-ca.ts';
import type {
  CagedCaptureSession,
  CaptureCage,
  CaptureOptions,
  CaptureSession,
  DnsQueryRecord,
  ListenAddress,
  ProxyCaptureSession,
} from './types.ts';
import { UdpSink } from './udp-sink.ts';

/**
 * Starts the run's network capture: a fresh CA, the DNS sinkhole and the TCP front with its
 * interception server, plus, in a cage, the UDP sink. Uncaged, all of it is on loopback and the
 * device is pointed at it; caged, all of it is on the cage's gateway and the edge steers the
 * device's traffic to `edgePorts`. Every flow is kept in memory, appended to `flows.jsonl` and
 * handed to listeners; every DNS query is appended to `dns.jsonl` and is a `dns` flow too, since
 * a name can carry data out as well as a body can.
 */
export function startCapture(
  options: CaptureOptions & { cage: CaptureCage },
): Promise<CagedCaptureSession>;
export function startCapture(
  options: CaptureOptions & { cage?: undefined },
): Promise<ProxyCaptureSession>;
export function startCapture(options: CaptureOptions): Promise<CaptureSession>;
export async function startCapture(options: CaptureOptions): Promise<CaptureSession> {
  const plan = listenPlan(options);
  await mkdir(options.runDir, { recursive: true });
  const logger = options.logger.child({ component: 'capture' });
  const ca = await createRunCa(options.runDir, options.runId ?? basename(options.runDir));
  const names = new FakeIpNames();
  const log = new FlowLog(options.runDir, logger);
  const dnsFile = new JsonLinesWriter(join(options.runDir, 'dns.jsonl'), logger);
  const cage = plan.cage;
  const stoppers: Array<() => Promise<void>> = [];

  try {
    let sinkholeAddress: ListenAddress = { host: plan.dns.host, port: 0 };
    const sinkhole = await DnsSinkhole.start({
      host: plan.dns.host,
      port: plan.dns.port,
      logger,
      names,
      originalDestination: cage?.originalDestination,
      onQuery: (query: DnsQueryRecord, packet: Buffer) => {
        dnsFile.append(query);
        log.record(dnsFlow(query, packet, sinkholeAddress));
      },
    });
    sinkholeAddress = sinkhole.address;
    stoppers.push(() => sinkhole.stop());
    const proxy = await InterceptionProxy.start({
      host: plan.host,
      mode: cage
        ? { kind: 'transparent', originalDestination: cage.originalDestination }
        : { kind: 'proxy' },
      ca,
      responders: options.responders ?? [],
      names,
      logger,
      onFlow: (flow) => log.record(flow),
    });
    stoppers.push(() => proxy.stop());
    const udp = cage
      ? await UdpSink.start({
          host: plan.host,
          logger,
          names,
          originalDestination: cage.originalDestination,
          onFlow: (flow) => log.record(flow),
        })
      : undefined;
    if (udp) stoppers.push(() => udp.stop());

    const stop = stopper(stoppers, log, dnsFile, logger);
    const common = {
      dns: sinkhole.address,
      caCertificatePem: ca.certificatePem,
      caSubjectHashOld: ca.subjectHashOld,
      flows: () => log.all(),
      onFlow: (listener: (flow: Flow) => void) => log.onFlow(listener),
      divertFlows: (match: (flow: Flow) => boolean, onDiverted: (flow: Flow) => void) =>
        log.divert(match, onDiverted),
      dnsQueries: () => sinkhole.queries(),
      hostForIp: (ip: string) => sinkhole.hostForIp(ip),
      stop,
      [Symbol.asyncDispose]: stop,
    };
    if (udp === undefined) {
      logger.info(
        { dns: sinkhole.address, proxy: proxy.address, ca: ca.subjectHashOld },
        'capture started',
      );
      return { ...common, mode: 'proxy', proxy: proxy.address };
    }
    const edgePorts = {
      tcp: proxy.address.port,
      dns: sinkhole.address.port,
      udp: udp.address.port,
    };
    logger.info({ gateway: plan.host, edgePorts, ca: ca.subjectHashOld }, 'capture started');
    return { ...common, mode: 'caged', front: proxy.address, udp: udp.address, edgePorts };
  } catch (error) {
    await Promise.allSettled(stoppers.map((stop) => stop()));
    throw error;
  }
}

function stopper(
  parts: ReadonlyArray<() => Promise<void>>,
  log: FlowLog,
  dnsFile: JsonLinesWriter,
  logger: Logger,
): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      // Each part stops even if another fails; files are flushed after the last flow is in.
      const results = await Promise.allSettled(parts.map((stop) => stop()));
      // Sockets cut by the stop report their flows from close handlers queued just now.
      await new Promise((resolve) => setImmediate(resolve));
      await Promise.all([log.close(), dnsFile.flush()]);
      for (const result of results) {
        if (result.status === 'rejected')
          logger.warn({ err: result.reason }, 'capture did not stop cleanly');
      }
    })();
    return stopping;
  };
}

/** A query is a flow to the resolver the device asked, or to the sinkhole when it asked it directly. */
function dnsFlow(query: DnsQueryRecord, packet: Buffer, sinkhole: ListenAddress): Flow {
  const server = query.resolver ?? { ip: sinkhole.host, port: sinkhole.port };
  const flow: Flow = {
    id: randomUUID(),
    t: query.t,
    protocol: 'dns',
    destination: { host: query.name, ip: server.ip, port: server.port },
    raw: packet.toString('base64'),
  };
  if (query.client !== undefined) flow.client = query.client;
  return flow;
}
