import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { basename, join } from 'node:path';
import { InputError } from '../errors.ts';
import { DnsSinkhole } from './dns-sinkhole.ts';
import type { Flow } from './flow.ts';
import { JsonLinesWriter } from './jsonl-writer.ts';
import { LoopbackNames } from './loopback-names.ts';
import { InterceptionProxy } from './proxy.ts';
import { createRunCa } from './run-ca.ts';
import type { CaptureOptions, CaptureSession, DnsQueryRecord } from './types.ts';

/**
 * Starts the run's network capture: a fresh CA, the DNS sinkhole and the interception proxy,
 * all on one loopback address. Every flow is kept in memory, appended to `flows.jsonl` and
 * handed to listeners; every DNS query is appended to `dns.jsonl` and is a `dns` flow too,
 * since a name can carry data out as well as a body can.
 */
export async function startCapture(options: CaptureOptions): Promise<CaptureSession> {
  const host = options.host ?? '127.0.0.1';
  assertLoopback(host);
  if (options.dns) assertLoopback(options.dns.host);
  await mkdir(options.runDir, { recursive: true });
  const logger = options.logger.child({ component: 'capture' });
  const ca = await createRunCa(options.runDir, options.runId ?? basename(options.runDir));
  const names = new LoopbackNames();
  const flows: Flow[] = [];
  const listeners = new Set<(flow: Flow) => void>();
  const flowsFile = new JsonLinesWriter(join(options.runDir, 'flows.jsonl'), logger);
  const dnsFile = new JsonLinesWriter(join(options.runDir, 'dns.jsonl'), logger);

  const record = (flow: Flow): void => {
    flows.push(flow);
    flowsFile.append(flow);
    for (const listener of listeners) {
      try {
        listener(flow);
      } catch (error) {
        logger.error({ err: error, flow: flow.id }, 'flow listener failed');
      }
    }
  };

  let sinkholeAddress = { host, port: 0 };
  const sinkhole = await DnsSinkhole.start({
    host: options.dns?.host ?? host,
    ...(options.dns ? { port: options.dns.port } : {}),
    logger,
    names,
    onQuery: (query: DnsQueryRecord, packet: Buffer) => {
      dnsFile.append(query);
      record(dnsFlow(query, packet, sinkholeAddress));
    },
  });
  sinkholeAddress = sinkhole.address;
  let proxy: InterceptionProxy;
  try {
    proxy = await InterceptionProxy.start({
      host,
      ca,
      responders: options.responders ?? [],
      names,
      logger,
      onFlow: record,
    });
  } catch (error) {
    await sinkhole.stop();
    throw error;
  }
  logger.info(
    { dns: sinkhole.address, proxy: proxy.address, ca: ca.subjectHashOld },
    'capture started',
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // Each part stops even if another fails; files are flushed after the last flow is in.
      const results = await Promise.allSettled([proxy.stop(), sinkhole.stop()]);
      // Sockets cut by the stop report their flows from close handlers queued just now.
      await new Promise((resolve) => setImmediate(resolve));
      await Promise.all([flowsFile.flush(), dnsFile.flush()]);
      listeners.clear();
      for (const result of results) {
        if (result.status === 'rejected')
          logger.warn({ err: result.reason }, 'capture did not stop cleanly');
      }
    })();
    return stopping;
  };

  return {
    dns: sinkhole.address,
    proxy: proxy.address,
    caCertificatePem: ca.certificatePem,
    caSubjectHashOld: ca.subjectHashOld,
    flows: () => [...flows],
    onFlow(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dnsQueries: () => sinkhole.queries(),
    hostForIp: (ip) => sinkhole.hostForIp(ip),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

function dnsFlow(
  query: DnsQueryRecord,
  packet: Buffer,
  server: { host: string; port: number },
): Flow {
  const flow: Flow = {
    id: randomUUID(),
    t: query.t,
    protocol: 'dns',
    destination: { host: query.name, ip: server.host, port: server.port },
    raw: packet.toString('base64'),
  };
  if (query.client !== undefined) flow.client = query.client;
  return flow;
}

/** The capture must never listen where a suspect image could reach anything else. */
function assertLoopback(host: string): void {
  const loopback = host === '::1' || (isIPv4(host) && host.startsWith('127.'));
  if (!loopback) {
    throw new InputError(
      'capture-host-not-loopback',
      `capture host ${host} is not a loopback address`,
      {
        hint: 'use 127.0.0.1 (or another 127.x.y.z, or ::1)',
      },
    );
  }
}
