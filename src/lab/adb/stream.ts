import { A_CLSE, A_WRTE, type AdbMessage } from './message.ts';

/** What a stream needs from its connection. */
export interface StreamLink {
  send(message: AdbMessage): void;
  /** The largest WRTE payload the host accepts on this connection. */
  maxPayload(): number;
  /** Called once the stream is closed on either side, so the connection forgets it. */
  forget(localId: number): void;
}

type DataListener = (data: Buffer) => void | Promise<void>;

/**
 * One adb stream seen from the device: data the host wrote comes in through `onData`, data for
 * the host goes out through `write`, one WRTE at a time, each sent only after the host
 * acknowledged the previous one with OKAY (adb's per-stream flow control).
 */
export class DeviceStream {
  readonly localId: number;
  readonly remoteId: number;
  private readonly link: StreamLink;
  private closing = false;
  private remoteClosed = false;
  private outgoing: Promise<void> = Promise.resolve();
  private awaitingAck: (() => void) | undefined;
  private dataListener: DataListener | undefined;
  private readonly earlyData: Buffer[] = [];
  private readonly closeListeners: Array<() => void> = [];

  constructor(link: StreamLink, localId: number, remoteId: number) {
    this.link = link;
    this.localId = localId;
    this.remoteId = remoteId;
  }

  /** True once either side closed the stream; writes are then dropped. */
  get closed(): boolean {
    return this.closing || this.remoteClosed;
  }

  get maxPayload(): number {
    return this.link.maxPayload();
  }

  /**
   * Queues data for the host. Resolves when the host acknowledged the last chunk, or at once
   * when the stream is (or becomes) closed: a peer going away is normal, not an error.
   */
  write(data: Buffer | string): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (bytes.length === 0) return this.outgoing;
    this.outgoing = this.outgoing.then(() => this.sendChunks(bytes));
    return this.outgoing;
  }

  /** Closes after everything written so far went out. Safe to call more than once. */
  close(): Promise<void> {
    if (this.closing) return this.outgoing;
    this.closing = true;
    this.outgoing = this.outgoing.then(() => {
      if (!this.remoteClosed) {
        this.link.send({
          command: A_CLSE,
          arg0: this.localId,
          arg1: this.remoteId,
          data: Buffer.alloc(0),
        });
      }
      this.finish();
    });
    return this.outgoing;
  }

  /** Receives what the host writes. Data that arrived before a listener was set is replayed. */
  onData(listener: DataListener): void {
    this.dataListener = listener;
  }

  onClose(listener: () => void): void {
    if (this.remoteClosed) listener();
    else this.closeListeners.push(listener);
  }

  /** Connection side: the host wrote data. Resolves when the host may be sent OKAY. */
  async deliver(data: Buffer): Promise<void> {
    if (this.dataListener === undefined) {
      this.earlyData.push(data);
      return;
    }
    while (this.earlyData.length > 0) {
      const early = this.earlyData.shift();
      if (early !== undefined) await this.dataListener(early);
    }
    await this.dataListener(data);
  }

  /** Connection side: the host acknowledged our last WRTE. */
  acknowledged(): void {
    const resolve = this.awaitingAck;
    this.awaitingAck = undefined;
    resolve?.();
  }

  /** Connection side: the host closed the stream, or the connection is gone. */
  closedByRemote(): void {
    if (this.remoteClosed) return;
    this.remoteClosed = true;
    this.acknowledged();
    this.finish();
    for (const listener of this.closeListeners.splice(0)) listener();
  }

  private async sendChunks(bytes: Buffer): Promise<void> {
    for (let offset = 0; offset < bytes.length;) {
      if (this.remoteClosed) return;
      const chunk = bytes.subarray(offset, offset + this.link.maxPayload());
      offset += chunk.length;
      const acked = new Promise<void>((resolve) => {
        this.awaitingAck = resolve;
      });
      this.link.send({ command: A_WRTE, arg0: this.localId, arg1: this.remoteId, data: chunk });
      await acked;
    }
  }

  private finish(): void {
    this.link.forget(this.localId);
  }
}
