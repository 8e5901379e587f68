import { join } from 'node:path';
import { writeHar } from '../../src/capture/index.ts';
import { waitForQuiet } from '../../src/capture/quiet.ts';
import { CanarytrapError } from '../../src/errors.ts';
import { pullDeviceEvents } from '../../src/instrument/device-events.ts';
import { RUN_FILES } from '../../src/run/run-dir.ts';
import type { RunContext } from '../context.ts';

/** Gathers what the run saw: the device's events, then every flow once the device is down. */
export async function collectStage(context: RunContext): Promise<string> {
  const { device, capture, runDir } = context;
  if (!device || !capture || !runDir)
    throw new CanarytrapError('stage-order', 'collect needs boot first');
  await waitForQuiet(capture, { quietMs: 1_000, maxMs: 10_000 });
  const pulled = await pullDeviceEvents(device, join(runDir, RUN_FILES.events), context.logger);
  context.events = pulled.events;
  if (pulled.warning) context.limitations.push(pulled.warning);
  await device.stop();
  await capture.stop();
  context.flows = capture.flows();
  await writeHar(context.flows, join(runDir, RUN_FILES.har));
  return `${context.flows.length} flows, ${context.events.length} instrumentation events, ${capture.dnsQueries().length} DNS queries`;
}
