/**
 * Gathers what the host sends as a command's stdin. The lab shell takes stdin as one buffer, so
 * a command runs once stdin is complete: its announced length reached, stdin closed by the
 * host, or nothing sent at all within a short grace period (a command that reads no stdin).
 */
export class StdinCollector {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private readonly expectedBytes: number | undefined;
  private resolveEnded: () => void = () => undefined;
  private readonly endedPromise: Promise<void>;

  constructor(expectedBytes?: number) {
    this.expectedBytes = expectedBytes;
    this.endedPromise = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
    if (expectedBytes === 0) this.end();
  }

  add(data: Buffer): void {
    if (this.ended || data.length === 0) return;
    this.chunks.push(data);
    this.size += data.length;
    if (this.expectedBytes !== undefined && this.size >= this.expectedBytes) this.end();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.resolveEnded();
  }

  /** Resolves with the whole stdin (possibly empty) once it is complete. */
  async complete(graceMs: number): Promise<Buffer> {
    if (!this.ended && this.expectedBytes === undefined) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([this.endedPromise, grace]);
      clearTimeout(timer);
      if (this.size === 0) this.end();
    }
    await this.endedPromise;
    const all = Buffer.concat(this.chunks);
    return this.expectedBytes === undefined ? all : all.subarray(0, this.expectedBytes);
  }
}
