import { join } from 'node:path';
import { CanarytrapError } from '../errors.ts';
import { runEachStep, type NamedStep } from '../host/teardown.ts';
import type { Logger } from '../log.ts';
import { checkCageCapability, createCage } from './cage/index.ts';
import type { Cage, CageCapability, EdgeRecorder } from './cage/types.ts';
import { verifyContainment, type ContainmentResult } from './containment.ts';
import { startCapture } from './session.ts';
import type { CaptureSession, Responder } from './types.ts';

/** The run's file the edge pcap is written to. */
export const EDGE_PCAP_FILE = 'edge.pcap';

/**
 * How a run's device is contained: `caged` in a network namespace of its own (docs/cage.md),
 * `uncontained` in the host's network behind the capture's proxy, with the reason why.
 */
export type Containment =
  { mode: 'caged'; probe: ContainmentResult } | { mode: 'uncontained'; reason: string };

/** What the launcher needs to put a device on the run's network. */
export interface DeviceNetwork {
  dnsServer: { host: string; port: number };
  /** Uncontained runs only: every TCP connection goes through this proxy. */
  httpProxy?: { host: string; port: number };
  /** Caged runs: the namespace the device runs in. */
  cage?: Cage;
}

export interface RunNetwork extends AsyncDisposable {
  readonly capture: CaptureSession;
  readonly device: DeviceNetwork;
  readonly containment: Containment;
  /** The edge pcap of a caged run (in the run directory), once it is complete; else undefined. */
  stopEdgeRecording(): Promise<string | undefined>;
  /**
   * ms since the epoch from which traffic is the device's: the containment probe had finished
   * (its packets are in the edge pcap too, and are not evidence).
   */
  readonly deviceTrafficSince: number;
  /** Stops the capture, the recorder and removes the cage. Safe to call twice; never rejects. */
  stop(): Promise<void>;
}

export interface RunNetworkOptions {
  runDir: string;
  runId?: string;
  logger: Logger;
  responders?: Responder[];
  /** `caged`: a cage or an error. `uncontained`: no cage, with this reason for the report. */
  containment: { mode: 'caged'; stateDir: string } | { mode: 'uncontained'; reason: string };
  /** Uncontained only: the SDK emulator's -dns-server takes an address and always uses port 53. */
  dns?: { host: string; port: number };
}

/**
 * The run's network: a cage with its capture, edge rules, edge pcap and a verified containment
 * probe — or, for an uncontained run, the capture alone behind its proxy. A cage whose probe
 * does not land on the capture fails here, before anything of the image runs.
 */
export async function startRunNetwork(options: RunNetworkOptions): Promise<RunNetwork> {
  const { logger } = options;
  const base = {
    runDir: options.runDir,
    logger,
    ...(options.runId === undefined ? {} : { runId: options.runId }),
    ...(options.responders === undefined ? {} : { responders: options.responders }),
  };
  if (options.containment.mode === 'uncontained') {
    const capture = await startCapture({
      ...base,
      ...(options.dns === undefined ? {} : { dns: options.dns }),
    });
    const stop = () => capture.stop();
    return {
      capture,
      device: { dnsServer: capture.dns, httpProxy: capture.proxy },
      containment: { mode: 'uncontained', reason: options.containment.reason },
      stopEdgeRecording: () => Promise.resolve(undefined),
      deviceTrafficSince: Date.now(),
      stop,
      [Symbol.asyncDispose]: stop,
    };
  }

  const cage = await createCage({ stateDir: options.containment.stateDir, logger });
  const steps: NamedStep[] = [['cage', () => cage.dispose()]];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const failure of await runEachStep([...steps].reverse())) {
        logger.warn({ err: failure.error, step: failure.step }, 'run network teardown step failed');
      }
    })();
    return stopping;
  };
  try {
    const capture = await startCapture({
      ...base,
      cage: {
        gateway: cage.addressing.gateway,
        originalDestination: (protocol, client) => cage.originalDestination(protocol, client),
      },
    });
    steps.push(['capture', () => capture.stop()]);
    const edgePcap = join(options.runDir, EDGE_PCAP_FILE);
    const recorder: EdgeRecorder = await cage.recordEdge(edgePcap);
    steps.push(['edge recorder', () => recorder.stop()]);
    await cage.installEdge(capture.edgePorts);
    const probe = await verifyContainment(capture, cage);
    logger.info({ probe }, 'containment probe');
    if (!probe.verified) {
      throw new CanarytrapError(
        'containment-unverified',
        `the containment probe did not land on the capture: ${probe.checks
          .filter((check) => !check.ok)
          .map((check) => check.detail)
          .join('; ')}`,
        { hint: 'run `canarytrap doctor`; the image was not booted' },
      );
    }
    const deviceTrafficSince = Date.now();
    let edgeDone: Promise<string> | undefined;
    return {
      capture,
      device: { dnsServer: { host: cage.addressing.gateway, port: 53 }, cage },
      containment: { mode: 'caged', probe },
      stopEdgeRecording: () => (edgeDone ??= recorder.stop().then(() => edgePcap)),
      deviceTrafficSince,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

let capabilityOnce: Promise<CageCapability> | undefined;

/** Whether this host can cage devices; asked once per process (it makes a throwaway namespace). */
export function cageCapability(): Promise<CageCapability> {
  capabilityOnce ??= checkCageCapability();
  return capabilityOnce;
}

export interface ContainmentChoice {
  /** The user asked to run without a cage (`--uncontained`). */
  uncontained?: boolean;
  /** The image is one of canarytrap's bundled lab images, harmless by construction. */
  bundledLabImage: boolean;
  capability: CageCapability;
}

/**
 * Caged whenever the host can; a submitted image on a host that cannot is refused unless the
 * user explicitly accepts running it uncontained. Bundled lab images still run, uncaged.
 */
export function chooseContainment(
  choice: ContainmentChoice,
): { mode: 'caged' } | { mode: 'uncontained'; reason: string } {
  if (choice.uncontained) return { mode: 'uncontained', reason: 'run with --uncontained' };
  if (choice.capability.ok) return { mode: 'caged' };
  if (choice.bundledLabImage) {
    return {
      mode: 'uncontained',
      reason: `this host cannot make a cage (${choice.capability.reason}); a bundled lab image runs uncaged`,
    };
  }
  throw new CanarytrapError(
    'cage-unavailable',
    `this host cannot contain the device: ${choice.capability.reason}`,
    {
      permanent: true,
      expected: true,
      hint: `${choice.capability.hint}; or submit with --uncontained to run it without a cage (the report says so)`,
    },
  );
}
