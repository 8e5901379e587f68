import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Device } from '../device/device.ts';
import type { Logger } from '../log.ts';
import {
  instrumentationEventSchema,
  type InstrumentationEvent,
} from '../android/instrumentation-events.ts';

/** Where the lab phone (and the on-device event spool) writes events as JSON Lines. */
export const DEVICE_EVENTS_PATH = '/data/local/tmp/canarytrap/events.jsonl';

/**
 * Pulls the device's event spool into the run directory and validates every line. Bad lines
 * are skipped and counted in a warning, so one torn line never loses the rest.
 */
export async function pullDeviceEvents(
  device: Device,
  destination: string,
  logger: Logger,
): Promise<{ events: InstrumentationEvent[]; warning?: string }> {
  const exists = await device.shell(`ls ${DEVICE_EVENTS_PATH}`, { allowFailure: true });
  if (exists.exitCode !== 0) {
    await writeFile(destination, '');
    return { events: [] };
  }
  const temp = await mkdtemp(join(tmpdir(), 'canarytrap-events-'));
  try {
    const local = join(temp, 'events.jsonl');
    await device.pull(DEVICE_EVENTS_PATH, local);
    const text = await readFile(local, 'utf8');
    const { events, bad } = parseEventLines(text);
    await writeFile(
      destination,
      events.map((e) => JSON.stringify(e)).join('\n') + (events.length ? '\n' : ''),
    );
    if (bad.length > 0) {
      logger.warn({ bad: bad.slice(0, 5) }, 'invalid event lines skipped');
      return {
        events,
        warning: `${bad.length} instrumentation event lines were invalid and skipped (first at line ${bad[0]})`,
      };
    }
    return { events };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

export function parseEventLines(text: string): { events: InstrumentationEvent[]; bad: number[] } {
  const events: InstrumentationEvent[] = [];
  const bad: number[] = [];
  text.split('\n').forEach((line, index) => {
    if (!line.trim()) return;
    try {
      const parsed = instrumentationEventSchema.safeParse(JSON.parse(line));
      if (parsed.success) events.push(parsed.data);
      else bad.push(index + 1);
    } catch {
      bad.push(index + 1);
    }
  });
  return { events, bad };
}
