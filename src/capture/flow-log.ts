import { join } from 'node:path';
import type { Logger } from '../log.ts';
import type { Flow } from './flow.ts';
import { JsonLinesWriter } from './jsonl-writer.ts';

interface Diversion {
  match(flow: Flow): boolean;
  onDiverted(flow: Flow): void;
}

/**
 * The run's evidence: every flow kept in memory, appended to `flows.jsonl` and handed to
 * listeners, except flows a diversion claims (traffic the run made itself), which go to that
 * diversion only.
 */
export class FlowLog {
  private readonly flows: Flow[] = [];
  private readonly listeners = new Set<(flow: Flow) => void>();
  private readonly diversions = new Set<Diversion>();
  private readonly file: JsonLinesWriter;

  constructor(
    runDir: string,
    private readonly logger: Logger,
  ) {
    this.file = new JsonLinesWriter(join(runDir, 'flows.jsonl'), logger);
  }

  record(flow: Flow): void {
    for (const diversion of this.diversions) {
      if (!this.claims(diversion, flow)) continue;
      this.call(() => diversion.onDiverted(flow), flow, 'diverted flow handler failed');
      return;
    }
    this.flows.push(flow);
    this.file.append(flow);
    for (const listener of this.listeners)
      this.call(() => listener(flow), flow, 'flow listener failed');
  }

  all(): Flow[] {
    return [...this.flows];
  }

  onFlow(listener: (flow: Flow) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  divert(match: (flow: Flow) => boolean, onDiverted: (flow: Flow) => void): () => void {
    const diversion = { match, onDiverted };
    this.diversions.add(diversion);
    return () => this.diversions.delete(diversion);
  }

  /** Waits for every line handed over so far and drops the listeners. */
  async close(): Promise<void> {
    await this.file.flush();
    this.listeners.clear();
    this.diversions.clear();
  }

  private claims(diversion: Diversion, flow: Flow): boolean {
    try {
      return diversion.match(flow);
    } catch (error) {
      // A broken matcher must not hide evidence: the flow is recorded as usual.
      this.logger.error({ err: error, flow: flow.id }, 'flow diversion matcher failed');
      return false;
    }
  }

  private call(fn: () => void, flow: Flow, message: string): void {
    try {
      fn();
    } catch (error) {
      this.logger.error({ err: error, flow: flow.id }, message);
    }
  }
}
