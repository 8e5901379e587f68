import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { execa } from 'execa';
import type { Cage } from '../../src/capture/cage/index.ts';
import { AdbClient } from '../../src/device/adb-client.ts';
import { LabPhoneLauncher } from '../../src/device/lab-phone/launcher.ts';
import { freePort } from '../../src/host/ports.ts';
import { silentLogger } from '../../src/log.ts';
import { until } from '../support/lab-bench.ts';
import { canBind, findLabPhoneProcesses } from '../support/leftovers.ts';
import { buildSystemImage } from '../support/lab-process.ts';
import { cageUnavailable, makeTestCage, netnsInode } from '../support/test-cage.ts';

/**
 * Stand-ins for the capture's listeners on the cage's gateway, so the edge can be installed as
 * in a run: the TCP one keeps the first bytes of each connection it is handed.
 */
async function startEdgeListeners(
  t: TestContext,
  cage: Cage,
): Promise<{ tcpFirstBytes: string[] }> {
  const gateway = cage.addressing.gateway;
  const tcpFirstBytes: string[] = [];
  const sockets = new Set<Socket>();
  const front = createServer((socket) => {
    sockets.add(socket);
    socket.once('data', (chunk: Buffer) => tcpFirstBytes.push(chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => front.listen(0, gateway, resolve));
  const udp = [createSocket('udp4'), createSocket('udp4')];
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => front.close(() => resolve()));
    for (const socket of udp) socket.close();
  });
  for (const socket of udp) await new Promise<void>((resolve) => socket.bind(0, gateway, resolve));
  const port = (address: ReturnType<typeof front.address>): number =>
    typeof address === 'object' && address !== null ? address.port : 0;
  await cage.installEdge({
    tcp: port(front.address()),
    dns: udp[0]?.address().port ?? 0,
    udp: udp[1]?.address().port ?? 0,
  });
  return { tcpFirstBytes };
}

/** From inside the cage: connects to host:port, asks the adb server's version, prints what came back. */
const PROBE = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const socket = net.connect({ host, port: Number(port) });
let reply = '';
const done = (outcome) => { process.stdout.write(JSON.stringify({ outcome, reply })); process.exit(0); };
socket.on('connect', () => socket.write('000chost:version'));
socket.on('data', (chunk) => { reply += chunk.toString('latin1'); });
socket.on('error', (error) => done(error.code));
socket.on('close', () => done('closed'));
setTimeout(() => done('no answer'), 1500);
`;

async function probeFromCage(
  cage: Cage,
  host: string,
  port: number,
): Promise<{ outcome: string; reply: string }> {
  const command = cage.wrap(process.execPath, ['-e', PROBE, host, String(port)]);
  const { stdout } = await execa(command.file, command.args, { timeout: 10_000 });
  return JSON.parse(stdout) as { outcome: string; reply: string };
}

test('a lab phone in a real cage is listed and driven by the host adb, which it cannot reach itself', async (t) => {
  const unavailable = await cageUnavailable();
  if (unavailable) return t.skip(unavailable);
  const root = await mkdtemp(join(tmpdir(), 'device-lab-caged-'));
  const adb = new AdbClient({ serverPort: await freePort() });
  t.after(async () => {
    await adb.killServer();
    await rm(root, { recursive: true, force: true });
  });
  const cage = await makeTestCage(t);
  const edge = await startEdgeListeners(t, cage);
  const imageDir = await buildSystemImage(root, {
    'build.prop': 'ro.build.display.id=CAGED_LAB\nro.product.model=Caged\n',
    'etc/canarytrap/lab-image.json': await readFile('images/lab/clean.json'),
  });
  const first = 20_000 + 2 * randomInt(10_000);
  const launcher = new LabPhoneLauncher({
    adb,
    consoleAuthTokenPath: join(root, '.emulator_console_auth_token'),
    leases: { lockDir: join(root, 'leases'), first, last: first + 60 },
  });
  const started = Date.now();
  const device = await launcher.launch({
    imageDir,
    runDir: root,
    network: { dnsServer: { host: '127.0.0.1', port: 9 } },
    cage,
    logger: silentLogger(),
  });
  const bootMs = Date.now() - started;
  let stopped = false;
  t.after(async () => {
    if (!stopped) await device.stop();
  });

  // The phone runs inside the cage, told only of the gateway as its DNS server.
  const [phone] = await findLabPhoneProcesses(new Set([device.consolePort]));
  assert.ok(phone, 'the lab phone process runs');
  const inode = Number(
    (await execa('stat', ['-L', '-c', '%i', `/proc/${phone.pid}/ns/net`])).stdout,
  );
  assert.equal(inode, await netnsInode(cage.addressing.netns));
  assert.equal(phone.adbServerPort, undefined, 'it was given no adb server to announce to');
  const cmdline = (await readFile(`/proc/${phone.pid}/cmdline`, 'utf8')).split('\0');
  assert.equal(cmdline[cmdline.indexOf('--dns-server') + 1], `${cage.addressing.gateway}:53`);
  assert.equal(cmdline.includes('--http-proxy'), false);

  // Debian's adb on the host lists it and drives it through the relays.
  // `adb emu` authenticates with $HOME/.emulator_console_auth_token: the launcher's token file.
  const run = (...args: string[]) =>
    execa('adb', ['-P', String(adb.serverPort), ...args], {
      env: { HOME: root },
      timeout: 20_000,
      reject: false,
    });
  assert.match((await run('devices')).stdout, new RegExp(`^${device.serial}\\tdevice$`, 'm'));
  assert.equal(
    (await run('-s', device.serial, 'shell', 'getprop', 'ro.product.model')).stdout.trim(),
    'Caged',
  );
  const sms = await run(
    '-s',
    device.serial,
    'emu',
    'sms',
    'send',
    '5550100',
    'hello-through-the-relay',
  );
  assert.equal(sms.exitCode, 0, sms.stderr);
  const inbox = await run(
    '-s',
    device.serial,
    'shell',
    'content',
    'query',
    '--uri',
    'content://sms/inbox',
    '--projection',
    'address:body',
  );
  assert.equal(inbox.stdout.trim(), 'Row: 0 address=5550100, body=hello-through-the-relay');

  // From inside, the host's adb server is out of reach: the cage's loopback is its own, and the
  // gateway hands every connection to the capture front, never to the adb server.
  const viaLoopback = await probeFromCage(cage, '127.0.0.1', adb.serverPort);
  assert.equal(viaLoopback.outcome, 'ECONNREFUSED');
  const viaGateway = await probeFromCage(cage, cage.addressing.gateway, adb.serverPort);
  assert.doesNotMatch(viaGateway.reply, /^OKAY/, 'the adb server did not answer');
  assert.ok(edge.tcpFirstBytes.includes('000chost:version'), 'it landed on the capture front');
  assert.match((await run('version')).stdout, /Android Debug Bridge/, 'the adb server is up');

  // A restarted adb server knows nothing of it; the launcher announces it again.
  await adb.killServer();
  await adb.startServer();
  await until(
    `${device.serial} listed again after the adb server restarted`,
    async () => ((await adb.devices()).get(device.serial) === 'device' ? true : undefined),
    10_000,
  );
  assert.equal((await device.shell('getprop ro.build.display.id')).stdout.trim(), 'CAGED_LAB');

  await device.stop();
  stopped = true;
  assert.equal(await canBind(device.consolePort), true, 'the console relay is closed');
  assert.equal(await canBind(device.adbPort), true, 'the adb relay is closed');
  // The adb server drops an emulator whose connection is gone, after a moment as `offline`.
  await until(
    `${device.serial} leaving the adb server's list`,
    async () => (new RegExp(device.serial).test((await run('devices')).stdout) ? undefined : true),
    10_000,
  );
  t.diagnostic(`caged lab phone booted in ${bootMs} ms`);
});
