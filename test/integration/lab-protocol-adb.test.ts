import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { silentLogger } from '../../src/log.ts';
import { DevicePortTable } from '../../src/lab/os/device-ports.ts';
import {
  keepRegistered,
  registerWithAdbServer,
  startAdbDeviceServer,
  type AdbDeviceServer,
} from '../../src/lab/adb/index.ts';
import {
  ensureConsoleAuthToken,
  startConsoleServer,
  type ConsoleServer,
} from '../../src/lab/console/index.ts';
import type {
  ConsoleReply,
  LabConsole,
  LabFileStat,
  LabFileSystem,
  LabIdentity,
  LabShell,
  ShellContext,
  ShellOutcome,
} from '../../src/lab/services.ts';

const identity: LabIdentity = { product: 'lab_phone_x86', model: 'Lab Phone 1', device: 'labx86' };

/** A tiny shell: enough commands to see each protocol path, never a real OS model. */
class FakeShell implements LabShell {
  readonly commands: string[] = [];
  constructor(private readonly fs: FakeFileSystem) {}

  async run(commandLine: string, context: ShellContext, stdin?: Buffer): Promise<ShellOutcome> {
    this.commands.push(commandLine);
    const ok = (stdout: string | Buffer): ShellOutcome => ({ stdout, stderr: '', exitCode: 0 });
    // adb quotes some arguments it passes on (`cmd package 'install' -S n`).
    const words = commandLine
      .trim()
      .split(/\s+/)
      .map((w) => w.replaceAll("'", ''));
    const [name, ...args] = words;
    switch (name) {
      case 'echo':
        if (args.at(-1) === '>&2')
          return { stdout: '', stderr: `${args.slice(0, -1).join(' ')}\n`, exitCode: 0 };
        return ok(`${args.join(' ')}\n`);
      case 'getprop':
        return ok(args[0] === 'ro.product.model' ? `${identity.model}\n` : '\n');
      case 'true':
        return ok('');
      case 'false':
        return { stdout: '', stderr: '', exitCode: 1 };
      case 'exit':
        return { stdout: '', stderr: '', exitCode: Number(args[0] ?? 0) };
      case 'id':
        return ok(context.root ? 'uid=0(root) gid=0(root)\n' : 'uid=2000(shell) gid=2000(shell)\n');
      case 'cat':
        return ok(stdin ?? Buffer.alloc(0));
      case 'ls': {
        const entries = await this.fs.list(args[0] ?? '/');
        return ok(entries.map((e) => `${e.name}\n`).join(''));
      }
      case 'cmd':
        if (args[0] === 'package' && args[1] === 'install') {
          const size = Number(args[args.indexOf('-S') + 1]);
          return stdin?.length === size && stdin.subarray(0, 2).toString() === 'PK'
            ? ok('Success\n')
            : ok('Failure [INSTALL_PARSE_FAILED_NOT_APK]\n');
        }
        break;
      case 'nosuch':
        return { stdout: '', stderr: '/system/bin/sh: nosuch: not found\n', exitCode: 127 };
    }
    return { stdout: '', stderr: `${name ?? ''}: inaccessible or not found\n`, exitCode: 127 };
  }
}

class FakeFileSystem implements LabFileSystem {
  readonly files = new Map<string, { data: Buffer; mode: number; mtime: number }>();

  async stat(path: string): Promise<LabFileStat | undefined> {
    const file = this.files.get(path);
    if (file) return { mode: file.mode, size: file.data.length, mtime: file.mtime };
    const prefix = path.endsWith('/') ? path : `${path}/`;
    if (path === '/' || [...this.files.keys()].some((key) => key.startsWith(prefix))) {
      return { mode: 0o040755, size: 4096, mtime: 0 };
    }
    return undefined;
  }

  async list(path: string): Promise<Array<LabFileStat & { name: string }>> {
    const prefix = path.endsWith('/') ? path : `${path}/`;
    return [...this.files.entries()]
      .filter(([key]) => key.startsWith(prefix) && !key.slice(prefix.length).includes('/'))
      .map(([key, file]) => ({
        name: key.slice(prefix.length),
        mode: file.mode,
        size: file.data.length,
        mtime: file.mtime,
      }));
  }

  async read(path: string): Promise<Buffer> {
    const file = this.files.get(path);
    if (!file) throw new Error('No such file or directory');
    return file.data;
  }

  async write(path: string, data: Buffer, mode: number, mtime: number): Promise<void> {
    this.files.set(path, { data, mode, mtime });
  }
}

class FakeConsole implements LabConsole {
  readonly received: string[] = [];
  killed = false;
  async handle(commandLine: string): Promise<ConsoleReply> {
    this.received.push(commandLine);
    if (commandLine.startsWith('sms send ')) return { ok: true, output: '' };
    if (commandLine === 'gsm list') return { ok: true, output: 'inbound from 5550123 : active\n' };
    return { ok: false, error: 'bad sub-command' };
  }
  async kill(): Promise<void> {
    this.killed = true;
  }
}

function listenOn(server: Server, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(true));
  });
}

async function isFree(port: number): Promise<boolean> {
  const probe = createServer();
  const free = await listenOn(probe, port);
  if (free) await new Promise((resolve) => probe.close(resolve));
  return free;
}

/** An even console port with a free adb port above it, away from adb's own scan (5554–5585). */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const consolePort = 2 * randomInt(10_000, 30_000);
    if ((await isFree(consolePort)) && (await isFree(consolePort + 1))) return consolePort;
  }
  throw new Error('no free port pair found');
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await listenOn(probe, 0);
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

const adbAvailable = await execa('adb', ['version'], { timeout: 10_000, reject: false }).then(
  (r) => r.exitCode === 0,
  () => false,
);

void describe(
  'lab phone protocols under real adb',
  { skip: adbAvailable ? false : 'adb is not installed' },
  () => {
    let home: string;
    let adbServerPort: number;
    let consolePort: number;
    let serial: string;
    let adbServer: AdbDeviceServer;
    let consoleServer: ConsoleServer;
    const fs = new FakeFileSystem();
    const shell = new FakeShell(fs);
    const devicePorts = new DevicePortTable();
    const labConsole = new FakeConsole();
    let rootCalls = 0;

    const adb = (args: string[], options: { input?: string | Buffer; timeout?: number } = {}) =>
      execa('adb', args, {
        env: { ANDROID_ADB_SERVER_PORT: String(adbServerPort), HOME: home },
        extendEnv: true,
        timeout: options.timeout ?? 20_000,
        reject: false,
        ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
        encoding: 'utf8',
      });

    before(async () => {
      home = await mkdtemp(join(tmpdir(), 'lab-protocol-adb-'));
      adbServerPort = await freePort();
      consolePort = await freePortPair();
      serial = `emulator-${consolePort}`;
      const tokenPath = join(home, '.emulator_console_auth_token');
      const token = await ensureConsoleAuthToken(tokenPath);
      adbServer = await startAdbDeviceServer({
        port: consolePort + 1,
        shell,
        fs,
        identity,
        devicePorts,
        logger: silentLogger(),
        onRoot: () => rootCalls++,
      });
      consoleServer = await startConsoleServer({
        port: consolePort,
        authToken: token,
        authTokenPath: tokenPath,
        console: labConsole,
        avdName: 'lab_avd',
        logger: silentLogger(),
      });
      const started = await adb(['start-server']);
      assert.equal(started.exitCode, 0, started.stderr);
      await registerWithAdbServer({ adbServerPort, adbPort: adbServer.port, timeoutMs: 5_000 });
      await adbServer.whenConnected(5_000);
    });

    after(async () => {
      await adb(['-P', String(adbServerPort), 'kill-server']);
      await adbServer.close();
      await adbServer.close();
      await consoleServer.close();
      await rm(home, { recursive: true, force: true });
    });

    void test('adb lists the lab phone as a booted emulator', async () => {
      const waited = await adb(['-s', serial, 'wait-for-device'], { timeout: 10_000 });
      assert.equal(waited.exitCode, 0, waited.stderr);
      const devices = await adb(['devices', '-l']);
      const line = devices.stdout.split('\n').find((l) => l.startsWith(serial));
      assert.ok(line, devices.stdout);
      assert.match(line, /\sdevice\s/);
      assert.match(line, /product:lab_phone_x86 model:Lab_Phone_1 device:labx86/);
      const state = await adb(['-s', serial, 'get-state']);
      assert.equal(state.stdout.trim(), 'device');
      const features = await adb(['-s', serial, 'features']);
      assert.deepEqual(features.stdout.trim().split('\n').sort(), [
        'cmd',
        'fixed_push_mkdir',
        'shell_v2',
      ]);
    });

    void test('adb shell runs commands, keeps stderr apart and returns exit codes', async () => {
      const hi = await adb(['-s', serial, 'shell', 'echo', 'hi']);
      assert.equal(hi.stdout, 'hi');
      assert.equal(hi.exitCode, 0);
      const model = await adb(['-s', serial, 'shell', 'getprop', 'ro.product.model']);
      assert.equal(model.stdout, identity.model);
      const failed = await adb(['-s', serial, 'shell', 'false']);
      assert.equal(failed.exitCode, 1);
      const code = await adb(['-s', serial, 'shell', 'exit', '42']);
      assert.equal(code.exitCode, 42);
      const missing = await adb(['-s', serial, 'shell', 'nosuch']);
      assert.equal(missing.exitCode, 127);
      assert.equal(missing.stdout, '');
      assert.match(missing.stderr, /nosuch: not found/);
      const err = await adb(['-s', serial, 'shell', 'echo', 'oops', '>&2']);
      assert.equal(err.stdout, '');
      assert.equal(err.stderr, 'oops');
    });

    void test('stdin reaches the command and many streams run at once', async () => {
      const payload = randomBytes(3000).toString('hex');
      const cat = await adb(['-s', serial, 'shell', 'cat'], { input: payload });
      assert.equal(cat.stdout, payload);
      const many = await Promise.all(
        Array.from({ length: 8 }, (_, i) => adb(['-s', serial, 'shell', 'echo', `n${i}`])),
      );
      assert.deepEqual(
        many.map((r) => r.stdout),
        Array.from({ length: 8 }, (_, i) => `n${i}`),
      );
      const script = await adb(['-s', serial, 'shell'], { input: 'echo one\necho two\nexit 3\n' });
      assert.equal(script.stdout, 'one\ntwo');
      assert.equal(script.exitCode, 3);
    });

    void test('adb push and pull round-trip 1 MiB byte-exact; ls sees the file', async () => {
      const local = join(home, 'blob.bin');
      const back = join(home, 'blob.back');
      const data = randomBytes(1024 * 1024);
      await writeFile(local, data);
      const pushed = await adb(['-s', serial, 'push', local, '/data/local/tmp/blob.bin']);
      assert.equal(pushed.exitCode, 0, pushed.stderr);
      assert.ok(fs.files.get('/data/local/tmp/blob.bin')?.data.equals(data));
      const pulled = await adb(['-s', serial, 'pull', '/data/local/tmp/blob.bin', back]);
      assert.equal(pulled.exitCode, 0, pulled.stderr);
      assert.ok((await readFile(back)).equals(data));
      const listed = await adb(['-s', serial, 'ls', '/data/local/tmp']);
      assert.match(listed.stdout, /blob\.bin/);
      const shellLs = await adb(['-s', serial, 'shell', 'ls', '/data/local/tmp']);
      assert.equal(shellLs.stdout, 'blob.bin');
      const tree = join(home, 'tree');
      await mkdir(join(tree, 'sub'), { recursive: true });
      await writeFile(join(tree, 'a.txt'), 'alpha');
      await writeFile(join(tree, 'sub', 'b.txt'), 'beta');
      // A directory exists in the fake file system once something is in it.
      await fs.write('/sdcard/.nomedia', Buffer.alloc(0), 0o100644, 0);
      const pushedTree = await adb(['-s', serial, 'push', tree, '/sdcard/']);
      assert.equal(pushedTree.exitCode, 0, pushedTree.stderr);
      assert.equal(fs.files.get('/sdcard/tree/a.txt')?.data.toString(), 'alpha');
      assert.equal(fs.files.get('/sdcard/tree/sub/b.txt')?.data.toString(), 'beta');
      const absent = await adb(['-s', serial, 'pull', '/data/local/tmp/absent', back]);
      assert.notEqual(absent.exitCode, 0);
      // adb 1.0.41 reports sync errors on stdout when that is not a terminal.
      assert.match(absent.stdout + absent.stderr, /remote object .* does not exist/);
    });

    void test('adb install streams the APK through the shell', async () => {
      const apk = join(home, 'app.apk');
      await writeFile(apk, Buffer.concat([Buffer.from('PK\u0003\u0004'), randomBytes(70_000)]));
      const installed = await adb(['-s', serial, 'install', apk]);
      assert.equal(installed.exitCode, 0, installed.stderr);
      assert.match(installed.stdout, /Success/);
      assert.ok(shell.commands.some((c) => /^cmd package '?install'? -S 70004$/.test(c)));
    });

    void test('adb forward reaches a port on the device loopback', async () => {
      const echo = createServer((socket) => socket.pipe(socket));
      assert.ok(await listenOn(echo, 0));
      const echoPort = (echo.address() as { port: number }).port;
      // The device port is the phone's own: only its table leads to the echo server's host port.
      const devicePort = 6790;
      assert.ok(devicePorts.register(devicePort, echoPort));
      const localPort = await freePort();
      try {
        const forwarded = await adb([
          '-s',
          serial,
          'forward',
          `tcp:${localPort}`,
          `tcp:${devicePort}`,
        ]);
        assert.equal(forwarded.exitCode, 0, forwarded.stderr);
        const message = randomBytes(600_000);
        const reply = await new Promise<Buffer>((resolve, reject) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const socket = connect({ host: '127.0.0.1', port: localPort }, () =>
            socket.write(message),
          );
          socket.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            size += chunk.length;
            if (size >= message.length) {
              socket.end();
              resolve(Buffer.concat(chunks));
            }
          });
          socket.on('error', reject);
        });
        assert.ok(reply.equals(message));
      } finally {
        await adb(['-s', serial, 'forward', '--remove', `tcp:${localPort}`]);
        devicePorts.unregister(devicePort, echoPort);
        await new Promise((resolve) => echo.close(resolve));
      }
    });

    void test('adb emu reaches the console with the token from $HOME', async () => {
      const name = await adb(['-s', serial, 'emu', 'avd', 'name']);
      assert.equal(name.exitCode, 0, name.stderr);
      assert.equal(name.stdout.replaceAll('\r', ''), 'lab_avd\nOK');
      const sms = await adb(['-s', serial, 'emu', 'sms', 'send', '5550123', 'hello']);
      assert.equal(sms.exitCode, 0, sms.stderr);
      assert.deepEqual(labConsole.received.at(-1), 'sms send 5550123 hello');
      const list = await adb(['-s', serial, 'emu', 'gsm', 'list']);
      assert.match(list.stdout, /inbound from 5550123/);
    });

    void test('a malformed peer is dropped and the device keeps serving', async () => {
      const garbage = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: adbServer.port }, () => {
          socket.write(Buffer.concat([Buffer.from('CNXN'), randomBytes(40)]));
        });
        socket.on('close', () => resolve(true));
        socket.on('error', () => resolve(true));
        socket.resume();
      });
      assert.ok(garbage);
      const still = await adb(['-s', serial, 'shell', 'echo', 'alive']);
      assert.equal(still.stdout, 'alive');
    });

    void test('adb root restarts adbd as root; the adb server comes back to it', async () => {
      const before = await adb(['-s', serial, 'shell', 'id']);
      assert.match(before.stdout, /uid=2000\(shell\)/);
      const rooted = await adb(['-s', serial, 'root'], { timeout: 30_000 });
      assert.equal(rooted.exitCode, 0, rooted.stderr);
      assert.match(rooted.stdout, /restarting adbd as root/);
      assert.equal(rootCalls, 1);
      const waited = await adb(['-s', serial, 'wait-for-device'], { timeout: 15_000 });
      assert.equal(waited.exitCode, 0, waited.stderr);
      const id = await adb(['-s', serial, 'shell', 'id']);
      assert.match(id.stdout, /uid=0\(root\)/);
      const again = await adb(['-s', serial, 'root']);
      assert.match(again.stdout, /already running as root/);
    });

    void test('the device is announced again when the adb server restarts', async () => {
      const registration = keepRegistered({
        adbServerPort,
        adbPort: adbServer.port,
        connectionCount: () => adbServer.connectionCount,
        intervalMs: 200,
        logger: silentLogger(),
      });
      try {
        assert.equal((await adb(['kill-server'])).exitCode, 0);
        assert.equal((await adb(['start-server'])).exitCode, 0);
        const waited = await adb(['-s', serial, 'wait-for-device'], { timeout: 10_000 });
        assert.equal(waited.exitCode, 0, waited.stderr);
        assert.equal((await adb(['-s', serial, 'shell', 'echo', 'back'])).stdout, 'back');
      } finally {
        registration.close();
      }
    });

    void test('adb emu kill is answered and reaches the OS model', async () => {
      const killed = await adb(['-s', serial, 'emu', 'kill']);
      assert.equal(killed.exitCode, 0, killed.stderr);
      assert.match(killed.stdout, /OK: killing emulator, bye bye/);
      assert.equal(labConsole.killed, true);
    });
  },
);
