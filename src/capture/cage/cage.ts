import { CanarytrapError } from '../../errors.ts';
import { runEachStep } from '../../host/teardown.ts';
import type { Logger } from '../../log.ts';
import { addressingFor } from './addressing.ts';
import { applyEdge, readEdgeCounters } from './edge.ts';
import {
  DEFAULT_CAGE_LOCK_DIR,
  leaseCageIndex,
  relaySocketDir,
  removeRelaySockets,
  type CageLease,
} from './lease.ts';
import { DEFAULT_COMMAND_TIMEOUT_MS } from './command.ts';
import { buildCageNetwork } from './network.ts';
import { lookupOriginalDestination } from './conntrack-table.ts';
import { currentProcess } from './owner.ts';
import { removeRecord, writeRecord } from './records.ts';
import { startPcapRecorder } from './recorder.ts';
import { startRelay } from './relay.ts';
import { removeCageParts } from './residue.ts';
import type {
  Cage,
  CageAddressing,
  CageOptions,
  CageRelay,
  EdgeCounters,
  EdgePorts,
  EdgeRecorder,
  HostPort,
  SweptCage,
} from './types.ts';

const DEFAULT_CONNTRACK_WAIT_MS = 1_000;

/**
 * Leases an index and builds the cage: record, sealed edge, namespace and veth pair. The edge
 * starts sealed (everything from the cage dropped) until installEdge names the capture's ports.
 */
export async function createCage(options: CageOptions): Promise<Cage> {
  if (process.getuid?.() !== 0) {
    throw new CanarytrapError(
      'cage-needs-root',
      'making a cage needs root (network namespaces, veth, nftables)',
      {
        permanent: true,
        hint: 'run the worker as root, or run uncontained (--uncontained) and accept that the report says so',
      },
    );
  }
  const lockDir = options.lockDir ?? DEFAULT_CAGE_LOCK_DIR;
  const settings = {
    stateDir: options.stateDir,
    lockDir,
    timeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    conntrackWaitMs: options.conntrackWaitMs ?? DEFAULT_CONNTRACK_WAIT_MS,
  };
  const owner = await currentProcess();
  const lease = await leaseCageIndex(lockDir, owner);
  const addressing = addressingFor(lease.index);
  const logger = options.logger.child({ cage: lease.index });
  const cage = new NamespaceCage(addressing, lease, settings, logger);
  try {
    await writeRecord(settings.stateDir, {
      index: lease.index,
      owner,
      createdAt: new Date().toISOString(),
    });
    // What a dead owner left at this index, if no sweep has run since.
    const leftovers: SweptCage['removed'] = await removeCageParts(
      addressing,
      settings.timeoutMs,
      logger,
    );
    if (await removeRelaySockets(lockDir, lease.index)) leftovers.push('relays');
    if (leftovers.length > 0)
      logger.warn({ removed: leftovers }, 'removed what a dead cage left at this index');
    await applyEdge(addressing, undefined, settings.timeoutMs);
    await buildCageNetwork(addressing, settings.timeoutMs);
  } catch (error) {
    await cage.dispose();
    throw error;
  }
  logger.debug({ addressing }, 'cage ready');
  return cage;
}

interface CageSettings {
  stateDir: string;
  lockDir: string;
  timeoutMs: number;
  conntrackWaitMs: number;
}

class NamespaceCage implements Cage {
  readonly addressing: CageAddressing;
  readonly #lease: CageLease;
  readonly #settings: CageSettings;
  readonly #logger: Logger;
  readonly #relays = new Set<CageRelay>();
  readonly #recorders = new Set<EdgeRecorder>();
  #disposed: Promise<void> | undefined;

  constructor(
    addressing: CageAddressing,
    lease: CageLease,
    settings: CageSettings,
    logger: Logger,
  ) {
    this.addressing = addressing;
    this.#lease = lease;
    this.#settings = settings;
    this.#logger = logger;
  }

  wrap(file: string, args: readonly string[]): { file: string; args: string[] } {
    return { file: 'ip', args: ['netns', 'exec', this.addressing.netns, file, ...args] };
  }

  async installEdge(ports: EdgePorts): Promise<void> {
    this.#ensureOpen();
    await applyEdge(this.addressing, ports, this.#settings.timeoutMs);
  }

  async counters(): Promise<EdgeCounters> {
    this.#ensureOpen();
    return readEdgeCounters(this.addressing, this.#settings.timeoutMs);
  }

  async originalDestination(
    protocol: 'tcp' | 'udp',
    client: HostPort,
  ): Promise<HostPort | undefined> {
    return lookupOriginalDestination(protocol, client, {
      waitMs: this.#settings.conntrackWaitMs,
      commandTimeoutMs: this.#settings.timeoutMs,
    });
  }

  async relay(hostPort: number, devicePort: number): Promise<CageRelay> {
    this.#ensureOpen();
    const relay = await startRelay({
      wrap: (file, args) => this.wrap(file, args),
      socketDir: relaySocketDir(this.#settings.lockDir, this.addressing.index),
      hostPort,
      devicePort,
      readyTimeoutMs: this.#settings.timeoutMs,
      logger: this.#logger,
    });
    this.#relays.add(relay);
    return relay;
  }

  async recordEdge(file: string): Promise<EdgeRecorder> {
    this.#ensureOpen();
    const recorder = await startPcapRecorder({
      interfaceName: this.addressing.hostInterface,
      file,
      readyTimeoutMs: this.#settings.timeoutMs,
    });
    this.#recorders.add(recorder);
    return recorder;
  }

  dispose(): Promise<void> {
    this.#disposed ??= this.#teardown();
    return this.#disposed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  async #teardown(): Promise<void> {
    const { stateDir, lockDir, timeoutMs } = this.#settings;
    const failures = await runEachStep([
      ...[...this.#relays].map(
        (relay) => [`relay ${relay.hostPort}`, () => relay.close()] as const,
      ),
      ...[...this.#recorders].map(
        (recorder) => [`recorder ${recorder.file}`, () => recorder.stop()] as const,
      ),
      [
        'network',
        () => removeCageParts(this.addressing, timeoutMs, this.#logger).then(() => undefined),
      ],
      [
        'relay sockets',
        () => removeRelaySockets(lockDir, this.addressing.index).then(() => undefined),
      ],
      ['record', () => removeRecord(stateDir, this.addressing.index)],
      ['lease', () => this.#lease.release()],
    ]);
    for (const { step, error } of failures) {
      this.#logger.warn({ err: error, step }, 'cage teardown step failed');
    }
  }

  #ensureOpen(): void {
    if (this.#disposed) {
      throw new CanarytrapError(
        'cage-disposed',
        `cage ${this.addressing.index} is already disposed`,
        {
          hint: 'create a new cage for each device run',
        },
      );
    }
  }
}
