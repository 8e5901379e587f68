import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { PlantPlan } from '../canary/generate.ts';
import type { RunningDevice } from '../device/device.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { planAttachTargets, type HookCandidate } from './attach-plan.ts';
import { ProcessAttacher } from './attacher.ts';
import { EventQueue } from './event-queue.ts';
import type { FridaApi } from './frida-api.ts';
import { loadFrida } from './frida-loader.ts';
import { deployFridaServer } from './frida-server.ts';

export interface InstrumentationSession {
  stop(): Promise<void>;
}

export interface InstrumentationStart {
  session?: InstrumentationSession;
  /** Why the run has no Frida hooks, for the report's limitations. */
  unavailable?: string;
  summary: string;
}

export interface InstrumentationOptions {
  /** Its `instrumentation` says whether frida-server can run and whether it reports events itself. */
  device: RunningDevice;
  logger: Logger;
  /** config.fridaServerDir: holds `frida-server-<abi>`. */
  fridaServerDir?: string;
  /** The run's events file; agents' events are appended to it. */
  eventsPath?: string;
  /** The image's pre-installed apps, from which the processes to hook are chosen. */
  inventoryApps?: readonly HookCandidate[];
  /** The job's own choice of packages to hook, instead of the inventory's. */
  packages?: readonly string[];
  /** The run's canary identity: what identifier getters answer. */
  identity?: PlantPlan['identity'];
  /** The agent bundle; default hooks/dist/all.js (`npm run build:hooks`). */
  agentPath?: string;
  /** Module name for frida-node; tests point it elsewhere. */
  fridaModule?: string;
}

const DEFAULT_AGENT = fileURLToPath(new URL('../../hooks/dist/all.js', import.meta.url));

/**
 * Starts Frida instrumentation on the device where frida-node and a frida-server are at hand.
 * Where they are not, the run goes on with capture only and says so. A device that states its
 * own apps' events in the same schema (the lab phone) keeps its event evidence either way.
 */
export async function startInstrumentation(
  options: InstrumentationOptions,
): Promise<InstrumentationStart> {
  const { logger } = options;
  const offers = options.device.instrumentation;
  const ownNote = offers.ownEvents ? `; ${offers.ownEvents.note}` : '';
  const unavailable = (reason: string): InstrumentationStart => {
    // A device that reports its own events keeps the run's event evidence: only worth a note.
    if (offers.ownEvents) logger.info({ reason }, 'instrumentation unavailable');
    else logger.warn({ reason }, 'instrumentation unavailable');
    return {
      unavailable: `Frida instrumentation unavailable: ${reason}${ownNote}`,
      summary: offers.ownEvents?.summary ?? 'none (capture only)',
    };
  };
  const frida = await loadFrida(options.fridaModule);
  if (!frida.ok) return unavailable(frida.reason);
  if (offers.fridaUnavailable) return unavailable(offers.fridaUnavailable);
  if (!options.fridaServerDir)
    return unavailable('no frida-server directory is configured (set CANARYTRAP_FRIDA_SERVER_DIR)');
  if (!options.eventsPath) return unavailable('the run gave no events file to write to');
  const agentPath = options.agentPath ?? DEFAULT_AGENT;
  let agentSource: string;
  try {
    agentSource = await readFile(agentPath, 'utf8');
  } catch {
    return unavailable(`the agent bundle ${agentPath} is missing (run npm run build:hooks)`);
  }
  const api = frida.frida as unknown as FridaApi;
  let server;
  try {
    server = await deployFridaServer(options.device, {
      fridaServerDir: options.fridaServerDir,
      logger,
    });
  } catch (error) {
    return unavailable(describeError(error));
  }
  const manager = api.getDeviceManager();
  const queue = new EventQueue({ path: options.eventsPath, logger });
  let attacher: ProcessAttacher | undefined;
  const stop = async (): Promise<void> => {
    await attacher?.stop();
    const counts = await queue.close();
    if (counts.dropped > 0 || counts.invalid > 0)
      logger.warn(counts, 'instrumentation events lost');
    await manager.removeRemoteDevice(server.address).catch((error: unknown) => {
      logger.warn({ err: error }, 'removing the frida remote device failed');
    });
    await server.stop();
  };
  try {
    const device = await manager.addRemoteDevice(server.address);
    const targets = planAttachTargets(options.inventoryApps ?? [], {
      ...(options.packages ? { override: options.packages } : {}),
    });
    const identity = agentIdentity(options.identity);
    attacher = new ProcessAttacher({
      device,
      agentSource,
      targets,
      agentOptions: (name) => ({ package: name, ...(identity ? { identity } : {}) }),
      onEvent: (event) => void queue.push(event),
      logger,
    });
    const started = await attacher.start();
    const failed = started.failures.length ? `; ${started.failures.length} attach failures` : '';
    return {
      session: { stop },
      summary: `frida: ${started.attached.length} processes hooked (${started.attached.join(', ')})${failed}, spawn gating on`,
    };
  } catch (error) {
    await stop();
    return unavailable(describeError(error));
  }
}

/** The canary identity in the shape the agent's `configure` takes. */
function agentIdentity(
  identity: PlantPlan['identity'] | undefined,
): Record<string, string> | undefined {
  if (!identity) return undefined;
  return {
    imei: identity.imei,
    imsi: identity.imsi,
    iccid: identity.iccid,
    line1: identity.phoneNumber,
    serial: identity.serial,
    androidId: identity.androidId,
    wifiMac: identity.wifiMac,
  };
}
