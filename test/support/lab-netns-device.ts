// The device side of a namespace test: run inside the test's device namespace, it starts a lab
// image's behaviours on a device host with canary data (as the lab phone would in a cage), runs
// the named behaviours now, and prints one JSON line with their outcomes and the events they
// stated. Usage: node --import tsx lab-netns-device.ts '<DeviceConfig JSON>'.
import { readFile } from 'node:fs/promises';
import type { InstrumentationEvent } from '../../src/android/instrumentation-events.ts';
import { startBehaviours, type BehaviourOutcome } from '../../src/lab/behaviour/index.ts';
import { labImageSchema } from '../../src/android/lab-image.ts';
import { silentLogger } from '../../src/log.ts';
import { deviceHost } from './lab-behaviour-test-network.ts';

export interface DeviceConfig {
  imagePath: string;
  behaviours: string[];
  dnsServer: { host: string; port: number };
  /** CA certificates (PEM) in the device's store. */
  trusted: string[];
  sendTimeoutMs: number;
}

export interface DeviceResult {
  outcomes: BehaviourOutcome[];
  events: InstrumentationEvent[];
}

async function main(config: DeviceConfig): Promise<void> {
  const image = labImageSchema.parse(JSON.parse(await readFile(config.imagePath, 'utf8')));
  const host = deviceHost({ dnsServer: config.dnsServer }, config.trusted);
  const runtime = startBehaviours(image, host, silentLogger(), {
    sendTimeoutMs: config.sendTimeoutMs,
  });
  const outcomes: BehaviourOutcome[] = [];
  // One after the other, so the events of each behaviour stay together.
  for (const id of config.behaviours) outcomes.push(await runtime.runNow(id));
  await runtime.stop();
  const result: DeviceResult = { outcomes, events: host.events };
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

main(JSON.parse(process.argv[2] ?? '{}') as DeviceConfig).catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
