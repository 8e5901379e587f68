/** Bytes arriving in arbitrary chunks, read back in exact sizes by one reader at a time. */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private waiter: (() => void) | undefined;

  push(chunk: Buffer): void {
    if (this.ended || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  /** Exactly `length` bytes, or undefined when the input ended first. */
  async read(length: number): Promise<Buffer | undefined> {
    while (this.size < length) {
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
    const parts: Buffer[] = [];
    let needed = length;
    while (needed > 0) {
      const head = this.chunks[0];
      if (head === undefined) break;
      if (head.length <= needed) {
        parts.push(head);
        this.chunks.shift();
        needed -= head.length;
      } else {
        parts.push(head.subarray(0, needed));
        this.chunks[0] = head.subarray(needed);
        needed = 0;
      }
    }
    this.size -= length;
    const result = Buffer.concat(parts);
    return result;
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
