import { join } from 'node:path';
import { prepareDevice } from '../../src/device/prepare.ts';
import { CanarytrapError } from '../../src/errors.ts';
import { startInstrumentation } from '../../src/instrument/session.ts';
import type { RunContext } from '../context.ts';

/** Frida's events, kept apart from the device spool until collect merges them. */
export const FRIDA_EVENTS_FILE = 'frida-events.jsonl';

/** Root, the run's CA as a system CA, then instrumentation where Frida is available. */
export async function prepareStage(context: RunContext): Promise<string> {
  const { device, capture, runDir, image, canaries } = context;
  if (!device || !capture || !runDir || !image || !canaries)
    throw new CanarytrapError('stage-order', 'prepare needs boot first');
  const installed = await prepareDevice(device, {
    caCertificatePem: capture.caCertificatePem,
    caSubjectHashOld: capture.caSubjectHashOld,
    logger: context.logger,
  });
  const instrumentation = await startInstrumentation({
    device,
    logger: context.logger,
    ...(context.config.fridaServerDir ? { fridaServerDir: context.config.fridaServerDir } : {}),
    eventsPath: join(runDir, FRIDA_EVENTS_FILE),
    inventoryApps: image.inventory.apps,
    identity: canaries.plan.identity,
  });
  if (instrumentation.unavailable) context.limitations.push(instrumentation.unavailable);
  if (instrumentation.session) {
    const session = instrumentation.session;
    context.teardown.add('instrumentation', () => session.stop());
  }
  return `run CA installed as ${installed}; instrumentation: ${instrumentation.summary}`;
}
