import type { Logger } from '../log.ts';
import { isTarget } from './attach-plan.ts';
import type {
  FridaDevice,
  FridaDetachReason,
  FridaMessage,
  FridaSession,
  FridaSpawn,
} from './frida-api.ts';

export interface AttacherOptions {
  device: FridaDevice;
  /** The bundled agent (hooks/dist/all.js). */
  agentSource: string;
  /** Process names to hook (attach plan). */
  targets: readonly string[];
  /** What `configure` gets in a process: its package and the identity to answer with. */
  agentOptions(processName: string): Record<string, unknown>;
  /** Receives every event an agent sends. */
  onEvent(event: unknown): void;
  logger: Logger;
  /** Re-attaches per process after crashes before giving up. Default 5. */
  maxReattach?: number;
  /** How long to look for a crashed process to come back. Default 10 s. */
  reattachWindowMs?: number;
}

interface Attached {
  name: string;
  session: FridaSession;
}

/**
 * Keeps the agent loaded in every target process: those running at start, those spawned later
 * (spawn gating holds them until hooked) and those that come back after a crash.
 */
export class ProcessAttacher {
  private readonly attached = new Map<number, Attached>();
  private readonly reattaches = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly failures: string[] = [];
  private stopping = false;
  private readonly onSpawn = (spawn: FridaSpawn): void => this.track(this.handleSpawn(spawn));

  constructor(private readonly options: AttacherOptions) {}

  /** Gates spawns first, so no target starts unhooked between the listing and the gate. */
  async start(): Promise<{ attached: string[]; failures: string[] }> {
    const { device, targets } = this.options;
    device.spawnAdded.connect(this.onSpawn);
    await device.enableSpawnGating();
    for (const process of await device.enumerateProcesses()) {
      if (isTarget(process.name, targets)) await this.attach(process.pid, process.name);
    }
    return { attached: this.names(), failures: [...this.failures] };
  }

  names(): string[] {
    return [...this.attached.values()].map((a) => a.name).sort();
  }

  stats(): { attached: number; reattached: number; failures: string[] } {
    const reattached = [...this.reattaches.values()].reduce((sum, n) => sum + n, 0);
    return { attached: this.attached.size, reattached, failures: [...this.failures] };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const { device, logger } = this.options;
    device.spawnAdded.disconnect(this.onSpawn);
    await Promise.all(this.inFlight);
    await device
      .disableSpawnGating()
      .catch((error: unknown) => logger.warn({ err: error }, 'disabling spawn gating failed'));
    for (const { session, name } of this.attached.values()) {
      await session
        .detach()
        .catch((error: unknown) => logger.warn({ err: error, name }, 'detach failed'));
    }
    this.attached.clear();
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /** A gated spawn is always resumed, hooked or not: a held process would hang the device. */
  private async handleSpawn(spawn: FridaSpawn): Promise<void> {
    const name = spawn.identifier ?? '';
    try {
      if (!this.stopping && isTarget(name, this.options.targets))
        await this.attach(spawn.pid, name);
    } finally {
      await this.options.device.resume(spawn.pid).catch((error: unknown) => {
        this.options.logger.warn({ err: error, pid: spawn.pid }, 'resuming a gated spawn failed');
      });
    }
  }

  /** Attaches, loads and configures the agent; a failure is recorded, never thrown. */
  private async attach(pid: number, name: string): Promise<boolean> {
    const { device, logger } = this.options;
    try {
      const session = await device.attach(pid);
      const script = await session.createScript(this.options.agentSource);
      script.message.connect((message: FridaMessage) => this.onMessage(name, message));
      await script.load();
      await script.exports['configure']?.(this.options.agentOptions(name));
      session.detached.connect((reason: FridaDetachReason) =>
        this.track(this.onDetached(pid, name, reason)),
      );
      this.attached.set(pid, { name, session });
      logger.info({ pid, name }, 'agent loaded');
      return true;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.failures.push(`${name} (pid ${pid}): ${reason}`);
      logger.warn({ pid, name, reason }, 'attach failed');
      return false;
    }
  }

  private onMessage(name: string, message: FridaMessage): void {
    if (message.type === 'error') {
      this.options.logger.warn({ name, description: message.description }, 'agent error');
      return;
    }
    const payload = message.payload as { type?: unknown; event?: unknown } | null;
    if (payload?.type === 'event') this.options.onEvent(payload.event);
  }

  /** A crashed or replaced target is looked for again and re-hooked, a bounded number of times. */
  private async onDetached(pid: number, name: string, reason: FridaDetachReason): Promise<void> {
    this.attached.delete(pid);
    if (this.stopping || (reason !== 'process-terminated' && reason !== 'process-replaced')) return;
    const count = this.reattaches.get(name) ?? 0;
    if (count >= (this.options.maxReattach ?? 5)) {
      this.failures.push(`${name}: gave up re-attaching after ${count} crashes`);
      return;
    }
    this.reattaches.set(name, count + 1);
    const deadline = Date.now() + (this.options.reattachWindowMs ?? 10_000);
    while (!this.stopping && Date.now() < deadline) {
      // Spawn gating may already have hooked the new process.
      if ([...this.attached.values()].some((a) => a.name === name)) return;
      const again = (await this.options.device.enumerateProcesses()).find(
        (p) => p.name === name && p.pid !== pid && !this.attached.has(p.pid),
      );
      if (again) {
        await this.attach(again.pid, name);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
