import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeHar } from '../../src/capture/index.ts';
import { readEdgeOnlyFlows } from '../../src/correlate/index.ts';
import { waitForQuiet } from '../../src/capture/quiet.ts';
import { CanarytrapError } from '../../src/errors.ts';
import { parseEventLines, pullDeviceEvents } from '../../src/instrument/device-events.ts';
import { RUN_FILES } from '../../src/run/run-dir.ts';
import type { RunContext } from '../context.ts';
import { FRIDA_EVENTS_FILE } from './prepare.ts';

async function readEventsFile(path: string): Promise<ReturnType<typeof parseEventLines>> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return parseEventLines(text);
}

/** Gathers what the run saw: the device's events, then every flow once the device is down. */
export async function collectStage(context: RunContext): Promise<string> {
  const { device, capture, runDir } = context;
  if (!device || !capture || !runDir)
    throw new CanarytrapError('stage-order', 'collect needs boot first');
  await waitForQuiet(capture, { quietMs: 1_000, maxMs: 10_000 });
  const pulled = await pullDeviceEvents(device, join(runDir, RUN_FILES.events), context.logger);
  if (pulled.warning) context.limitations.push(pulled.warning);
  // Frida's hooks wrote their own file during the run; both sources end in one events.jsonl.
  const frida = await readEventsFile(join(runDir, FRIDA_EVENTS_FILE));
  if (frida.bad.length > 0)
    context.limitations.push(`${frida.bad.length} Frida event lines were invalid and skipped`);
  context.events = [...pulled.events, ...frida.events].sort((a, b) => a.t - b.t);
  await writeFile(
    join(runDir, RUN_FILES.events),
    context.events.map((e) => `${JSON.stringify(e)}\n`).join(''),
  );
  await device.stop();
  await capture.stop();
  context.flows = capture.flows();
  const edgePcap = await context.network?.stopEdgeRecording();
  const cage = context.network?.device.cage;
  if (edgePcap && cage) {
    // ICMP and QUIC never reach a live listener: the edge pcap is their only record.
    const edge = await readEdgeOnlyFlows(edgePcap, {
      deviceIp: cage.addressing.deviceIp,
      hostForIp: (ip) => capture.hostForIp(ip),
      since: context.network?.deviceTrafficSince,
    });
    context.limitations.push(...edge.warnings.map((w) => `edge pcap: ${w}`));
    context.flows.push(...edge.flows);
    await appendFile(
      join(runDir, RUN_FILES.flows),
      edge.flows.map((flow) => `${JSON.stringify(flow)}\n`).join(''),
    );
  }
  await writeHar(context.flows, join(runDir, RUN_FILES.har));
  return `${context.flows.length} flows, ${context.events.length} instrumentation events, ${capture.dnsQueries().length} DNS queries`;
}
