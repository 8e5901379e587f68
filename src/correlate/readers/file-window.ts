import type { FileHandle } from 'node:fs/promises';

/**
 * Random access to a large file through one bounded buffer: captures are read record by record
 * without holding the whole file, so memory stays flat whatever the capture's size.
 */
export class FileWindow {
  private buffer = Buffer.alloc(0);
  /** File offset of buffer[0]. */
  private base = 0;

  constructor(
    private readonly handle: FileHandle,
    /** Bytes in the file when it was opened; reads never go past it. */
    readonly size: number,
    private readonly chunk = 4 << 20,
  ) {}

  /**
   * `length` bytes from `offset` (fewer only if the file shrank while being read). The returned
   * buffer is only valid until the next call: copy what must outlive it.
   */
  async view(offset: number, length: number): Promise<Buffer> {
    if (offset >= this.size) return Buffer.alloc(0);
    const end = Math.min(offset + length, this.size);
    if (offset < this.base || end > this.base + this.buffer.length) {
      // Refill from the requested offset: callers move forward, so nothing before it is needed.
      const fresh = Buffer.allocUnsafe(Math.min(Math.max(length, this.chunk), this.size - offset));
      let filled = 0;
      while (filled < fresh.length) {
        const { bytesRead } = await this.handle.read(
          fresh,
          filled,
          fresh.length - filled,
          offset + filled,
        );
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      this.buffer = fresh.subarray(0, filled);
      this.base = offset;
    }
    const start = offset - this.base;
    return this.buffer.subarray(start, Math.min(this.buffer.length, start + length));
  }
}
