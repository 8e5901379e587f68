import { close, fstat, open, read } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import yauzl, { type Options, type ZipFile } from 'yauzl';

/**
 * yauzl's file access, with every offset checked against the file before it reaches fs.
 * yauzl reads zip64 offsets as 64-bit numbers and hands them to fs.read as they are: past 2^53
 * fs.read throws inside an fs callback, where nothing can catch it, and a 42-byte zip takes the
 * process down (found by fuzzing). Here such an offset is an ordinary read error instead.
 */
class BoundedFileReader extends yauzl.RandomAccessReader {
  constructor(
    private readonly fd: number,
    private readonly size: number,
  ) {
    super();
  }

  private outside(start: number, end: number): Error | undefined {
    if (Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && end <= this.size)
      return undefined;
    return new Error(`bytes ${start}..${end} lie outside the ${this.size}-byte file`);
  }

  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (err: Error | null, bytesRead?: number) => void,
  ): void {
    const outside = this.outside(position, position + length);
    if (outside) setImmediate(() => callback(outside));
    else read(this.fd, buffer, offset, length, position, (err, n) => callback(err, n));
  }

  /** Positional reads of [start, end), as yauzl's own fd reader does; the fd stays open. */
  override _readStreamForRange(start: number, end: number): Readable {
    const outside = this.outside(start, end);
    const fd = this.fd;
    let position = start;
    return new Readable({
      read(size) {
        const length = Math.min(size, end - position);
        if (outside) this.destroy(outside);
        else if (length <= 0) this.push(null);
        else {
          const buffer = Buffer.allocUnsafe(length);
          read(fd, buffer, 0, length, position, (err, bytesRead) => {
            if (err) {
              this.destroy(err);
              return;
            }
            position += bytesRead;
            // A short file ends the stream early: yauzl's byte count reports it.
            this.push(bytesRead === 0 ? null : buffer.subarray(0, bytesRead));
          });
        }
      },
    });
  }

  override close(callback: (err: Error | null) => void): void {
    close(this.fd, callback);
  }
}

/** yauzl.openPromise, reading through BoundedFileReader. */
export async function openZipFile(path: string, options: Options): Promise<ZipFile> {
  const fd = await promisify(open)(path, 'r');
  try {
    const { size } = await promisify(fstat)(fd);
    return await yauzl.fromRandomAccessReaderPromise(
      new BoundedFileReader(fd, size),
      size,
      options,
    );
  } catch (error) {
    close(fd, () => undefined);
    throw error;
  }
}
