import type { LabFileStat } from '../services.ts';
import { ByteQueue } from './byte-queue.ts';
import type { ServiceContext } from './service-context.ts';
import type { DeviceStream } from './stream.ts';

/**
 * adb's file sync protocol (`sync:`), version 1: requests are a 4-character id and a u32 LE
 * length, then that many bytes (a path for STAT/LIST/RECV/SEND). adb 1.0.41 falls back to these
 * when the device does not advertise stat_v2 / ls_v2, so the v2 requests are refused.
 */

/** adbd refuses longer paths. */
const MAX_PATH_LENGTH = 1024;
/** The largest DATA block either side may send; adb's client buffer is this big. */
export const SYNC_DATA_MAX = 64 * 1024;

function header(id: string, value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.write(id, 0, 'latin1');
  bytes.writeUInt32LE(value >>> 0, 4);
  return bytes;
}

function failure(message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  return Buffer.concat([header('FAIL', text.length), text]);
}

function statReply(stat: LabFileStat | undefined): Buffer {
  const bytes = Buffer.alloc(16);
  bytes.write('STAT', 0, 'latin1');
  // A missing file is all zeros; the v1 fields are 32 bits wide, larger sizes wrap as in adbd.
  bytes.writeUInt32LE((stat?.mode ?? 0) >>> 0, 4);
  bytes.writeUInt32LE((stat?.size ?? 0) >>> 0, 8);
  bytes.writeUInt32LE((stat?.mtime ?? 0) >>> 0, 12);
  return bytes;
}

function direntReply(entry: LabFileStat & { name: string }): Buffer {
  const name = Buffer.from(entry.name, 'utf8');
  const bytes = Buffer.alloc(20);
  bytes.write('DENT', 0, 'latin1');
  bytes.writeUInt32LE(entry.mode >>> 0, 4);
  bytes.writeUInt32LE(entry.size >>> 0, 8);
  bytes.writeUInt32LE(entry.mtime >>> 0, 12);
  bytes.writeUInt32LE(name.length, 16);
  return Buffer.concat([bytes, name]);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function startSync(stream: DeviceStream, context: ServiceContext): void {
  const input = new ByteQueue();
  stream.onData((data) => input.push(data));
  stream.onClose(() => input.end());
  serve(stream, context, input).catch((error: unknown) => {
    context.logger.warn({ err: error }, 'adb sync service failed');
    void stream.close();
  });
}

async function serve(
  stream: DeviceStream,
  context: ServiceContext,
  input: ByteQueue,
): Promise<void> {
  for (;;) {
    const request = await input.read(8);
    if (request === undefined) return;
    const id = request.toString('latin1', 0, 4);
    const length = request.readUInt32LE(4);
    if (id === 'QUIT') {
      await stream.close();
      return;
    }
    if (!['STAT', 'LIST', 'RECV', 'SEND'].includes(id)) {
      await stream.write(failure(`unknown sync request ${JSON.stringify(id)}`));
      await stream.close();
      return;
    }
    if (length > MAX_PATH_LENGTH) {
      await stream.write(failure(`path too long (${length} bytes)`));
      await stream.close();
      return;
    }
    const pathBytes = await input.read(length);
    if (pathBytes === undefined) return;
    const path = pathBytes.toString('utf8');
    context.logger.debug({ request: id, path }, 'adb sync request');
    const keepGoing = await handle(id, path, stream, context, input);
    if (!keepGoing) return;
  }
}

async function handle(
  id: string,
  path: string,
  stream: DeviceStream,
  context: ServiceContext,
  input: ByteQueue,
): Promise<boolean> {
  switch (id) {
    case 'STAT':
      await stream.write(statReply(await context.fs.stat(path)));
      return true;
    case 'LIST': {
      const entries = await context.fs.list(path).catch((error: unknown) => {
        context.logger.debug({ err: error, path }, 'sync LIST failed');
        return [];
      });
      for (const entry of entries) await stream.write(direntReply(entry));
      await stream.write(Buffer.concat([header('DONE', 0), Buffer.alloc(12)]));
      return true;
    }
    case 'RECV':
      await receive(path, stream, context);
      return true;
    default:
      return send(path, stream, context, input);
  }
}

/** The host pulls a file: DATA blocks, then DONE; or FAIL. */
async function receive(path: string, stream: DeviceStream, context: ServiceContext): Promise<void> {
  let data: Buffer;
  try {
    data = await context.fs.read(path);
  } catch (error) {
    await stream.write(failure(`open failed: ${errorText(error)}`));
    return;
  }
  for (let offset = 0; offset < data.length; offset += SYNC_DATA_MAX) {
    const block = data.subarray(offset, offset + SYNC_DATA_MAX);
    await stream.write(Buffer.concat([header('DATA', block.length), block]));
  }
  await stream.write(header('DONE', 0));
}

/**
 * The host pushes a file: `SEND <path>,<mode>`, DATA blocks, `DONE <mtime>`; the device answers
 * OKAY or FAIL. Returns false when the stream cannot go on.
 */
async function send(
  spec: string,
  stream: DeviceStream,
  context: ServiceContext,
  input: ByteQueue,
): Promise<boolean> {
  const comma = spec.lastIndexOf(',');
  const path = comma === -1 ? spec : spec.slice(0, comma);
  const mode = comma === -1 ? 0o100644 : Number.parseInt(spec.slice(comma + 1), 10);
  const blocks: Buffer[] = [];
  for (;;) {
    const block = await input.read(8);
    if (block === undefined) return false;
    const id = block.toString('latin1', 0, 4);
    const value = block.readUInt32LE(4);
    if (id === 'DATA') {
      if (value > SYNC_DATA_MAX * 4) {
        await stream.write(failure(`DATA block of ${value} bytes is too large`));
        await stream.close();
        return false;
      }
      const data = await input.read(value);
      if (data === undefined) return false;
      blocks.push(data);
    } else if (id === 'DONE') {
      try {
        await context.fs.write(
          path,
          Buffer.concat(blocks),
          Number.isNaN(mode) ? 0o100644 : mode,
          value,
        );
        await stream.write(header('OKAY', 0));
      } catch (error) {
        await stream.write(failure(`couldn't write ${path}: ${errorText(error)}`));
      }
      return true;
    } else {
      await stream.write(failure(`expected DATA or DONE, got ${JSON.stringify(id)}`));
      await stream.close();
      return false;
    }
  }
}
