import type { LauncherName, RunningDevice } from '../device/device.ts';
import type { Logger } from '../log.ts';
import { loadFrida } from './frida-loader.ts';

export interface InstrumentationSession {
  stop(): Promise<void>;
}

export interface InstrumentationStart {
  session?: InstrumentationSession;
  /** Why the run has no Frida hooks, for the report's limitations. */
  unavailable?: string;
  summary: string;
}

/**
 * Starts Frida instrumentation on the device where frida-node and a frida-server are at hand.
 * Where they are not, the run goes on with capture only and says so. The lab phone states its
 * own apps' events in the same schema, so a lab run keeps its event evidence either way.
 */
export async function startInstrumentation(options: {
  device: RunningDevice;
  launcher: LauncherName;
  logger: Logger;
}): Promise<InstrumentationStart> {
  const frida = await loadFrida();
  if (!frida.ok) {
    const labNote =
      options.launcher === 'lab-phone' ? "; the lab phone reported its apps' events itself" : '';
    options.logger.warn({ reason: frida.reason }, 'instrumentation unavailable');
    return {
      unavailable: `Frida instrumentation unavailable: ${frida.reason}${labNote}`,
      summary:
        options.launcher === 'lab-phone' ? 'lab phone events (no Frida)' : 'none (capture only)',
    };
  }
  // The Frida session manager (deploy frida-server, attach, spawn gating) is not built yet.
  return {
    unavailable:
      'Frida instrumentation unavailable: the session manager is not implemented in this version',
    summary: 'frida present but not attached',
  };
}
