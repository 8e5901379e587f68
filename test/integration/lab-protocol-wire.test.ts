import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { startAdbDeviceServer, type AdbDeviceServer } from '../../src/lab/adb/index.ts';
import {
  A_CLSE,
  A_CNXN,
  A_OKAY,
  A_OPEN,
  A_WRTE,
  AdbMessageDecoder,
  commandName,
  encodeMessage,
  type AdbMessage,
} from '../../src/lab/adb/message.ts';
import type { LabFileSystem, LabShell } from '../../src/lab/services.ts';

/** The host side of the adb transport, written against the codec: what adb's server does. */
class RawHost {
  private readonly decoder = new AdbMessageDecoder(1024 * 1024);
  private readonly inbox: AdbMessage[] = [];
  private wake: (() => void) | undefined;
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.inbox.push(...this.decoder.push(chunk));
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<RawHost> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(new RawHost(socket)));
      socket.once('error', reject);
    });
  }

  send(command: number, arg0: number, arg1: number, data: Buffer | string = Buffer.alloc(0)): void {
    this.socket.write(encodeMessage({ command, arg0, arg1, data: Buffer.from(data) }));
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  async next(timeoutMs = 2000): Promise<AdbMessage | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      if (this.closed || Date.now() > deadline) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.inbox.shift();
  }

  async handshake(maxPayload = 4096): Promise<AdbMessage> {
    this.send(A_CNXN, 0x01000001, maxPayload, 'host::\0');
    const reply = await this.next();
    assert.ok(reply && reply.command === A_CNXN, 'no CNXN reply');
    return reply;
  }

  /** Reads a stream to its CLSE, acknowledging each WRTE. */
  async readStream(localId: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for (;;) {
      const message = await this.next();
      assert.ok(message, 'stream ended without CLSE');
      if (message.command === A_WRTE) {
        chunks.push(message.data);
        this.send(A_OKAY, localId, message.arg0);
      } else if (message.command === A_CLSE) {
        return Buffer.concat(chunks);
      } else {
        assert.fail(`unexpected ${commandName(message.command)}`);
      }
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

const bigOutput = Buffer.alloc(20_000, 'z');
const shell: LabShell = {
  async run(commandLine, _context, stdin) {
    if (commandLine === 'big') return { stdout: bigOutput, stderr: '', exitCode: 0 };
    if (commandLine.startsWith('wc -c'))
      return { stdout: `${stdin?.length ?? 0}\n`, stderr: 'note\n', exitCode: 0 };
    return { stdout: `ran ${commandLine}\n`, stderr: 'err\n', exitCode: 5 };
  },
};
const fs: LabFileSystem = {
  async stat() {
    return undefined;
  },
  async list() {
    return [];
  },
  async read() {
    throw new Error('No such file or directory');
  },
  async write() {},
};

async function withServer(run: (server: AdbDeviceServer) => Promise<void>): Promise<void> {
  const server = await startAdbDeviceServer({
    port: 0,
    shell,
    fs,
    identity: { product: 'p', model: 'm', device: 'd' },
    devicePorts: { hostPortOf: () => undefined },
    logger: silentLogger(),
  });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

void test('CNXN is answered with version, the smaller max payload and the device banner', async () => {
  await withServer(async (server) => {
    const host = await RawHost.open(server.port);
    const reply = await host.handshake(1024 * 1024);
    assert.equal(reply.arg0, 0x01000001);
    assert.equal(reply.arg1, 256 * 1024);
    assert.equal(
      reply.data.toString(),
      'device::ro.product.name=p;ro.product.model=m;ro.product.device=d;features=shell_v2,cmd,fixed_push_mkdir',
    );
    host.close();
  });
});

void test('WRTEs wait for OKAY and never exceed the host max payload', async () => {
  await withServer(async (server) => {
    const host = await RawHost.open(server.port);
    await host.handshake(4096);
    host.send(A_OPEN, 7, 0, 'shell:big\0');
    const okay = await host.next();
    assert.equal(okay?.command, A_OKAY);
    const first = await host.next();
    assert.equal(first?.command, A_WRTE);
    assert.equal(first.data.length, 4096);
    // Not acknowledged yet: the device must hold the next chunk back.
    assert.equal(await host.next(300), undefined);
    host.send(A_OKAY, 7, first.arg0);
    const rest = await host.readStream(7);
    assert.ok(
      Buffer.concat([first.data, rest]).equals(Buffer.concat([bigOutput, Buffer.alloc(0)])),
    );
    host.close();
  });
});

void test('legacy shell merges output; exec gets exactly -S bytes of stdin; unknown services are refused', async () => {
  await withServer(async (server) => {
    const host = await RawHost.open(server.port);
    await host.handshake();
    host.send(A_OPEN, 1, 0, 'shell:hello\0');
    const opened = await host.next();
    assert.equal(opened?.command, A_OKAY);
    assert.equal((await host.readStream(1)).toString(), 'ran hello\nerr\n');

    host.send(A_OPEN, 2, 0, 'exec:wc -c -S 10\0');
    const exec = await host.next();
    assert.equal(exec?.command, A_OKAY);
    host.send(A_WRTE, 2, exec.arg0, '0123456789');
    const ack = await host.next();
    assert.equal(ack?.command, A_OKAY);
    assert.equal((await host.readStream(2)).toString(), '10\nnote\n');

    host.send(A_OPEN, 3, 0, 'framebuffer:\0');
    const refused = await host.next();
    assert.equal(refused?.command, A_CLSE);
    assert.equal(refused.arg1, 3);
    host.send(A_OPEN, 4, 0, 'tcp:1:example.org\0');
    assert.equal((await host.next())?.command, A_CLSE);
    host.close();
  });
});

void test('several connections are served at once; a broken one is dropped alone', async () => {
  await withServer(async (server) => {
    const good = await RawHost.open(server.port);
    const other = await RawHost.open(server.port);
    await good.handshake();
    await other.handshake();
    assert.equal(server.connectionCount, 2);

    const broken = await RawHost.open(server.port);
    const header = encodeMessage({ command: A_WRTE, arg0: 1, arg1: 1, data: Buffer.alloc(0) });
    header.writeUInt32LE(64 * 1024 * 1024, 12);
    header.writeUInt32LE(0, 16);
    broken.sendRaw(header);
    assert.equal(await broken.next(), undefined);
    assert.ok(broken.closed);

    const early = await RawHost.open(server.port);
    early.send(A_OPEN, 1, 0, 'shell:x\0');
    assert.equal(await early.next(), undefined, 'OPEN before CNXN must drop the connection');

    good.send(A_OPEN, 9, 0, 'shell:still\0');
    assert.equal((await good.next())?.command, A_OKAY);
    assert.equal((await good.readStream(9)).toString(), 'ran still\nerr\n');
    other.close();
    good.close();
  });
});
