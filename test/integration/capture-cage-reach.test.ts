// Issue 12, acceptance 7 and 8: what can reach a running run's capture, and what a caged device
// can reach. Every packet goes to loopback, to the host's own addresses, or into namespaces this
// file makes (two run cages and an "outsider" namespace of its own); nothing leaves the machine.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa, type ResultPromise } from 'execa';
import { createCage, type Cage } from '../../src/capture/cage/index.ts';
import type { Flow } from '../../src/capture/flow.ts';
import { startRunNetwork, type RunNetwork } from '../../src/capture/run-network.ts';
import type { CagedCaptureSession } from '../../src/capture/types.ts';
import { loadConfig } from '../../src/config.ts';
import { AdbClient } from '../../src/device/adb-client.ts';
import type { RunningDevice } from '../../src/device/device.ts';
import { LabPhoneLauncher } from '../../src/device/lab-phone/launcher.ts';
import { freePort } from '../../src/host/ports.ts';
import { silentLogger } from '../../src/log.ts';
import { startServer, type ServerHandle } from '../../src/server/index.ts';
import { until } from '../support/lab-bench.ts';
import { buildSystemImage } from '../support/lab-process.ts';
import { cageUnavailable } from '../support/test-cage.ts';

const skip =
  (await cageUnavailable()) ?? (await missing(['redis-server', 'redis-cli', 'adb', 'ss']));

/** How long a probe waits for an answer on each connection or datagram. */
const REPLY_MS = 1_000;
/** The ports the other run's device listens on: an emulator's console and adb ports. */
const OTHER_DEVICE_PORTS = [5554, 5555] as const;

type Wrap = (file: string, args: readonly string[]) => { file: string; args: string[] };
const onHost: Wrap = (file, args) => ({ file, args: [...args] });

interface Step {
  kind: 'tcp' | 'udp';
  host: string;
  port: number;
  /** base64 */
  payload: string;
}

interface Outcome {
  step: Step;
  /** TCP: the handshake completed. UDP: the datagram went out. */
  connected: boolean;
  localPort: number | undefined;
  /** Everything that came back within REPLY_MS, base64. */
  reply: string;
  /** The peer closed or cut the connection within REPLY_MS. */
  closed: boolean;
  error: string | undefined;
}

/**
 * Sends every step at once from wherever it runs, prints the outcomes as one JSON line, then
 * keeps its TCP connections open until its stdin ends. Plain node, no project code: any process
 * of a device could do the same.
 */
const PROBE = `
const net = require('node:net');
const dgram = require('node:dgram');
const steps = JSON.parse(process.argv[1]);
const replyMs = Number(process.argv[2]);
const held = [];
const attempt = (step) => new Promise((resolve) => {
  const out = { step, connected: false, localPort: undefined, reply: '', closed: false, error: undefined };
  const chunks = [];
  const payload = Buffer.from(step.payload, 'base64');
  let timer;
  let settled = false;
  const finish = () => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    out.reply = Buffer.concat(chunks).toString('base64');
    resolve(out);
  };
  timer = setTimeout(finish, replyMs);
  if (step.kind === 'tcp') {
    const socket = net.connect({ host: step.host, port: step.port });
    held.push(socket);
    socket.on('connect', () => { out.connected = true; out.localPort = socket.localPort; socket.write(payload); });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error) => { out.error = error.code || error.message; });
    socket.on('close', () => { out.closed = true; finish(); });
  } else {
    const socket = dgram.createSocket('udp4');
    const done = () => { try { socket.close(); } catch {} finish(); };
    socket.on('error', (error) => { out.error = error.code || error.message; done(); });
    socket.on('message', (message) => { chunks.push(message); done(); });
    socket.connect(step.port, step.host, () => {
      out.localPort = socket.address().port;
      socket.send(payload, (error) => { if (!error) out.connected = true; });
    });
    setTimeout(done, replyMs);
  }
});
Promise.all(steps.map(attempt)).then((outcomes) => {
  process.stdout.write(JSON.stringify(outcomes) + '\\n');
  process.stdin.on('end', () => { for (const socket of held) socket.destroy(); setTimeout(() => process.exit(0), 50); });
  process.stdin.resume();
});
`;

/** A listener on every address of a namespace, printing each connection it accepts. */
const COUNTING_LISTENER = `
const net = require('node:net');
const ports = process.argv.slice(1).map(Number);
let waiting = ports.length;
for (const port of ports) {
  const server = net.createServer((socket) => {
    process.stdout.write('connection ' + socket.remoteAddress + ' ' + socket.localPort + '\\n');
    socket.on('error', () => undefined);
  });
  server.listen(port, '0.0.0.0', () => { if (--waiting === 0) process.stdout.write('listening\\n'); });
}
`;

describe(
  'what reaches a running run, and what its device reaches',
  { skip, timeout: 120_000 },
  () => {
    const logger = silentLogger();
    const stops: Array<() => Promise<unknown>> = [];
    let root: string;
    let runA: RunNetwork;
    let captureA: CagedCaptureSession;
    let cageA: Cage;
    let backendPort: number;
    let phone: RunningDevice;
    let adb: AdbClient;
    let redis: OpenRedis;
    let api: ServerHandle;
    let cageB: Cage;
    let captureB: CagedCaptureSession;
    let stateDir: string;
    let otherDevice: CountingListener;
    let outsider: Outsider;

    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'capture-cage-reach-'));
      stateDir = join(root, 'cages');
      const ownListeners = await wildcardListeners();
      const world = async () => {
        redis = await startOpenRedis(root);
        stops.push(() => redis.stop());
        adb = new AdbClient({ serverPort: await freePort() });
        await adb.startServer();
        stops.push(() => adb.killServer());
        const config = loadConfig(
          {
            CANARYTRAP_DATA: join(root, 'data'),
            CANARYTRAP_REDIS_URL: redis.url,
            CANARYTRAP_QUEUE_PREFIX: `reach-${randomBytes(4).toString('hex')}`,
            ANDROID_ADB_SERVER_PORT: String(adb.serverPort),
            HOME: root,
            CANARYTRAP_LOG_LEVEL: 'silent',
          },
          root,
        );
        api = await startServer({ config, logger, redisUrl: redis.url, port: 0 });
        stops.push(() => api.close());
      };
      const networkA = async () => {
        runA = await startRunNetwork({
          runDir: join(root, 'run-a'),
          runId: 'run-a',
          logger,
          containment: { mode: 'caged', stateDir },
        });
        stops.push(() => runA.stop());
      };
      const outside = async () => {
        outsider = await makeOutsider();
        stops.push(() => outsider.dispose());
      };
      const image = buildSystemImage(join(root, 'phone'), {
        'build.prop': 'ro.build.display.id=REACH_LAB\nro.product.model=Reach\n',
        'etc/canarytrap/lab-image.json': await readFile('images/lab/clean.json'),
      });
      await Promise.all([world(), networkA(), outside(), image]);
      assert.equal(runA.containment.mode, 'caged');
      assert.ok(runA.capture.mode === 'caged' && runA.device.cage);
      captureA = runA.capture;
      cageA = runA.device.cage;
      // mockttp takes no listen address: its port is the one wildcard listener the run added here.
      const added = (await wildcardListeners()).filter((port) => !ownListeners.includes(port));
      assert.equal(added.length, 1, `new wildcard listeners of this process: ${added.join(', ')}`);
      backendPort = added[0] ?? 0;

      const bootPhone = async () => {
        const first = 20_000 + 2 * randomInt(10_000);
        const launcher = new LabPhoneLauncher({
          adb,
          consoleAuthTokenPath: join(root, '.emulator_console_auth_token'),
          leases: { lockDir: join(root, 'leases'), first, last: first + 60 },
        });
        phone = await launcher.launch({
          imageDir: await image,
          runDir: join(root, 'run-a'),
          network: { dnsServer: runA.device.dnsServer },
          cage: cageA,
          logger,
        });
        stops.push(() => phone.stop());
      };
      const networkB = async () => {
        const runB = await startRunNetwork({
          runDir: join(root, 'run-b'),
          runId: 'run-b',
          logger,
          containment: { mode: 'caged', stateDir },
        });
        stops.push(() => runB.stop());
        assert.ok(runB.device.cage && runB.capture.mode === 'caged');
        cageB = runB.device.cage;
        captureB = runB.capture;
        otherDevice = await startCountingListener(cageB, OTHER_DEVICE_PORTS);
        stops.push(() => otherDevice.stop());
      };
      await Promise.all([bootPhone(), networkB()]);
    });

    after(async () => {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
      if (root) await rm(root, { recursive: true, force: true });
    });

    it('refuses every capture listener to the host and to another namespace, records none of it, and still records the device', async () => {
      const { gateway, deviceIp } = cageA.addressing;
      const tag = randomBytes(4).toString('hex');
      const outsiderMark = `outsider-${tag}`;
      const listeners = [
        {
          name: 'DNS sinkhole',
          kind: 'udp',
          port: captureA.dns.port,
          payload: (n: number) => dnsQuery(`${outsiderMark}-${n}.reach.test`),
        },
        {
          name: 'capture front',
          kind: 'tcp',
          port: captureA.front.port,
          payload: (n: number) => httpGet(`/${outsiderMark}-${n}`),
        },
        {
          name: 'UDP sink',
          kind: 'udp',
          port: captureA.udp.port,
          payload: (n: number) => Buffer.from(`${outsiderMark}-${n}`),
        },
        {
          name: 'interception backend',
          kind: 'tcp',
          port: backendPort,
          payload: (n: number) => httpGet(`/${outsiderMark}-${n}`),
        },
      ] as const;
      assert.equal(captureA.dns.host, gateway);
      assert.equal(captureA.front.host, gateway);
      assert.equal(captureA.udp.host, gateway);

      const sources: Array<{ from: string; wrap: Wrap; addresses: string[] }> = [
        { from: 'the host', wrap: onHost, addresses: ['127.0.0.1', gateway] },
        {
          from: `namespace ${outsider.netns}`,
          wrap: outsider.wrap,
          addresses: [gateway, outsider.hostAddress],
        },
      ];
      let n = 0;
      for (const source of sources) {
        const steps: Array<{ name: string; step: Step }> = [];
        for (const listener of listeners) {
          for (const host of source.addresses) {
            const step = {
              kind: listener.kind,
              host,
              port: listener.port,
              payload: listener.payload(n++).toString('base64'),
            };
            steps.push({ name: `${listener.name} at ${host}:${listener.port}`, step });
          }
        }
        const outcomes = await probe(
          source.wrap,
          steps.map((s) => s.step),
        );
        outcomes.forEach((outcome, i) => {
          const what = `${steps[i]?.name ?? '?'} from ${source.from}: ${JSON.stringify(outcome)}`;
          assert.equal(outcome.reply, '', `not a byte comes back: ${what}`);
          if (outcome.step.port === backendPort) {
            // mockttp listens on every address; the guard cuts whoever the front did not send.
            assert.ok(
              outcome.closed && (outcome.error === undefined || outcome.error === 'ECONNRESET'),
              `cut on arrival: ${what}`,
            );
          } else {
            assert.equal(outcome.error, 'ECONNREFUSED', `refused: ${what}`);
          }
        });
      }

      // The device's own sends, after the outsiders': each listener still records what it gets.
      const legit = `legit-${tag}`;
      const sent = await probe(cageA.wrap.bind(cageA), [
        { kind: 'tcp', host: gateway, port: 7, payload: b64(`${legit}-raw`) },
        {
          kind: 'tcp',
          host: gateway,
          port: 80,
          payload: httpGet(`/${legit}-http`).toString('base64'),
        },
        { kind: 'udp', host: gateway, port: 9, payload: b64(`${legit}-udp`) },
        {
          kind: 'udp',
          host: gateway,
          port: 53,
          payload: dnsQuery(`${legit}-dns.reach.test`).toString('base64'),
        },
      ]);
      const [raw, http, udp, dns] = sent;
      assert.ok(raw?.connected && http?.connected && udp?.connected && dns?.connected);
      assert.match(Buffer.from(http?.reply ?? '', 'base64').toString(), /^HTTP\/1\.1 200/);
      assert.notEqual(dns?.reply, '', 'the sinkhole answers the device');
      const fromDevice = (flow: Flow, outcome: Outcome | undefined) =>
        flow.client?.ip === deviceIp && flow.client.port === outcome?.localPort;
      const recorded = await until(
        'the four sends from inside the cage recorded as flows',
        async () => {
          const flows = captureA.flows();
          const found = [
            flows.find((f) => f.protocol === 'tcp' && fromDevice(f, raw)),
            flows.find((f) => f.protocol === 'http' && fromDevice(f, http)),
            flows.find((f) => f.protocol === 'udp' && fromDevice(f, udp)),
            flows.find(
              (f) => f.protocol === 'dns' && f.destination.host === `${legit}-dns.reach.test`,
            ),
          ];
          return found.every((f) => f !== undefined) ? found : undefined;
        },
        10_000,
      );
      const [rawFlow, httpFlow, udpFlow] = recorded;
      assert.deepEqual(pick(rawFlow), { ip: gateway, port: 7, text: `${legit}-raw` });
      assert.match(httpFlow?.request?.url ?? '', new RegExp(`/${legit}-http$`));
      assert.deepEqual(pick(udpFlow), { ip: gateway, port: 9, text: `${legit}-udp` });

      const strangers = (flows: Flow[]) =>
        flows.filter(
          (f) => JSON.stringify(f).includes(outsiderMark) || flowText(f).includes(outsiderMark),
        );
      const all = captureA.flows();
      assert.deepEqual(strangers(all), [], 'no flow carries what the outsiders sent');
      assert.deepEqual(
        all.filter((f) => f.client !== undefined && f.client.ip !== deviceIp),
        [],
        'every flow comes from the device',
      );
      assert.ok(!captureA.dnsQueries().some((q) => q.name.includes(outsiderMark)));
      // flows.jsonl: written behind the flows in memory.
      const file = join(root, 'run-a', 'flows.jsonl');
      const lines = await until(
        'flows.jsonl holding the device sends',
        async () => {
          const text = await readFile(file, 'utf8').catch(() => '');
          return recorded.every((flow) => text.includes(flow?.id ?? '-')) ? text : undefined;
        },
        5_000,
      );
      const inFile = lines
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Flow);
      assert.deepEqual(strangers(inFile), [], 'flows.jsonl holds nothing the outsiders sent');
      assert.deepEqual(
        inFile.filter((f) => f.client !== undefined && f.client.ip !== deviceIp),
        [],
      );
      const dnsFile = await readFile(join(root, 'run-a', 'dns.jsonl'), 'utf8').catch(() => '');
      assert.ok(!dnsFile.includes(outsiderMark), 'dns.jsonl holds no outsider query');
    });

    it("from inside the cage, the host's adb server, Redis, the API and another run's device are out of reach, and every try is a flow", async () => {
      const { gateway, deviceIp } = cageA.addressing;
      assert.equal(
        (await adb.devices()).get(phone.serial),
        'device',
        'the adb server drives the phone',
      );
      const hostAddresses = [
        gateway,
        ...(await otherHostAddresses([cageB.addressing.gateway, outsider.hostAddress])),
      ];
      const redisPing = b64('*1\r\n$4\r\nPING\r\n');
      const targets: Array<{ name: string; host: string; port: number; payload: string }> = [];
      for (const host of [...hostAddresses, '127.0.0.1']) {
        targets.push(
          { name: 'adb server', host, port: adb.serverPort, payload: b64('000chost:version') },
          { name: 'Redis', host, port: redis.port, payload: redisPing },
          {
            name: 'API',
            host,
            port: api.port,
            payload: httpGet('/api/runs', `127.0.0.1:${api.port}`).toString('base64'),
          },
        );
        // The host's end of the relay into this run's own device, which the adb server uses. (On
        // the cage's loopback that port is the phone itself.)
        if (host !== '127.0.0.1') {
          targets.push({
            name: 'adb relay',
            host,
            port: phone.adbPort,
            payload: b64('CNXN-from-inside'),
          });
        }
      }
      for (const port of OTHER_DEVICE_PORTS) {
        targets.push({
          name: "the other run's device",
          host: cageB.addressing.deviceIp,
          port,
          payload: b64(`to-other-device-${port}`),
        });
      }
      const redisConnectionsBefore = await redis.otherConnections();

      const outcomes = await probe(
        cageA.wrap.bind(cageA),
        targets.map(({ host, port, payload }) => ({ kind: 'tcp', host, port, payload })),
        async (held) => {
          // While every connection is held open: the targets' side.
          const established = await establishedFrom(deviceIp);
          const open = held.filter((o) => o.connected && !o.closed).length;
          assert.ok(open > 0, 'connections are held open while the targets are looked at');
          assert.equal(established.length, open, 'each connection still open is on the host');
          for (const socket of established) {
            assert.deepEqual(
              socket.local,
              { ip: gateway, port: captureA.front.port },
              `a device connection ended at ${socket.local.ip}:${socket.local.port}, not the front`,
            );
          }
          const clients = await redis.clientAddresses();
          assert.ok(clients.length > 0, 'the API is a Redis client');
          assert.deepEqual(
            clients.filter((ip) => ip !== '127.0.0.1'),
            [],
            'Redis has no client but the host',
          );
        },
      );

      outcomes.forEach((outcome, i) => {
        const target = targets[i];
        assert.ok(target);
        const what = `${target.name} at ${target.host}:${target.port}: ${JSON.stringify(outcome)}`;
        const reply = Buffer.from(outcome.reply, 'base64').toString('latin1');
        if (target.host === '127.0.0.1') {
          // The cage's loopback is its own: nothing there, and nothing left the cage.
          assert.equal(outcome.error, 'ECONNREFUSED', what);
          return;
        }
        assert.ok(outcome.connected, `the capture front took it: ${what}`);
        assert.doesNotMatch(reply, /^OKAY/, `the adb server did not answer: ${what}`);
        assert.doesNotMatch(reply, /NOAUTH|PONG/, `Redis did not answer: ${what}`);
        assert.doesNotMatch(reply, /canarytrap|401/, `the API did not answer: ${what}`);
      });
      assert.equal(
        await redis.otherConnections(),
        redisConnectionsBefore,
        'Redis accepted no connection meanwhile',
      );
      assert.deepEqual(otherDevice.connections(), [], "the other run's device saw no connection");

      const expected = outcomes.filter((o) => o.step.host !== '127.0.0.1');
      const flows = await until(
        'a flow for every connection the device tried',
        async () => {
          // The kernel may give two connections to different destinations one local port, so
          // a flow is the one from that port to where the connection went, if there is one
          // (the bytes checked below tell two such flows apart), else any flow from that port.
          const unused = captureA
            .flows()
            .filter(
              (f) =>
                f.client?.ip === deviceIp && expected.some((o) => o.localPort === f.client?.port),
            );
          const found = expected.map((o) => {
            const fromPort = unused.filter((f) => f.client?.port === o.localPort);
            const flow =
              fromPort.find(
                (f) => f.destination.ip === o.step.host && f.destination.port === o.step.port,
              ) ?? fromPort[0];
            if (flow) unused.splice(unused.indexOf(flow), 1);
            return flow;
          });
          return found.every((f) => f !== undefined) ? found : undefined;
        },
        10_000,
      );
      expected.forEach((outcome, i) => {
        const flow = flows[i];
        const what = `${outcome.step.host}:${outcome.step.port}: ${JSON.stringify(flow)}`;
        assert.deepEqual(
          { ip: flow?.destination.ip, port: flow?.destination.port },
          { ip: outcome.step.host, port: outcome.step.port },
          `the flow names the original destination: ${what}`,
        );
        if (outcome.step.port === api.port) {
          assert.equal(flow?.protocol, 'http', what);
          assert.match(flow?.request?.url ?? '', /\/api\/runs$/, what);
        } else {
          assert.equal(flow?.protocol, 'tcp', what);
          assert.equal(flow?.raw, outcome.step.payload, `with the bytes sent: ${what}`);
        }
      });
      assert.ok(
        !captureA.flows().some((f) => f.destination.ip === '127.0.0.1'),
        'nothing to the cage loopback left the cage',
      );

      // The detectors work: the other device counts a connection made where it is.
      await probe(cageB.wrap.bind(cageB), [
        { kind: 'tcp', host: cageB.addressing.deviceIp, port: 5555, payload: b64('local') },
      ]);
      await until(
        'the other device counting a local connection',
        async () => (otherDevice.connections().length === 1 ? true : undefined),
        5_000,
      );
      assert.equal((await adb.devices()).get(phone.serial), 'device', 'the phone is still driven');
    });

    it("a run whose capture ports happen to be another run's refuses nothing of that run's device", async () => {
      // Listeners on different gateways may be handed the same port numbers by the kernel.
      const cageC = await createCage({ stateDir, logger: silentLogger() });
      try {
        await cageC.installEdge(captureB.edgePorts);
        const { gateway, deviceIp } = cageB.addressing;
        const tag = randomBytes(4).toString('hex');
        const [tcp, udp, dns] = await probe(cageB.wrap.bind(cageB), [
          { kind: 'tcp', host: gateway, port: 7, payload: b64(`shared-ports-${tag}`) },
          { kind: 'udp', host: gateway, port: 9, payload: b64(`shared-ports-${tag}`) },
          {
            kind: 'udp',
            host: gateway,
            port: 53,
            payload: dnsQuery(`shared-ports-${tag}.reach.test`).toString('base64'),
          },
        ]);
        assert.ok(
          tcp?.connected && !tcp.error,
          `TCP reached run B's front: ${JSON.stringify(tcp)}`,
        );
        assert.equal(udp?.error, undefined, `UDP reached run B's sink: ${JSON.stringify(udp)}`);
        assert.notEqual(dns?.reply, '', `run B's sinkhole answered: ${JSON.stringify(dns)}`);
        await until(
          "run B's flows of its device's sends",
          async () => {
            const flows = captureB.flows();
            const from = (o: Outcome | undefined) => (f: Flow) =>
              f.client?.ip === deviceIp && f.client.port === o?.localPort;
            return flows.some(from(tcp)) && flows.some(from(udp)) ? true : undefined;
          },
          10_000,
        );
        // Its own gateway and every address outside a cage still refuse those ports.
        const [atGateway, atLoopback] = await probe(onHost, [
          {
            kind: 'tcp',
            host: cageC.addressing.gateway,
            port: captureB.front.port,
            payload: b64('x'),
          },
          { kind: 'udp', host: '127.0.0.1', port: captureB.udp.port, payload: b64('x') },
        ]);
        assert.equal(atGateway?.error, 'ECONNREFUSED');
        assert.equal(atLoopback?.error, 'ECONNREFUSED');
      } finally {
        await cageC.dispose();
      }
    });
  },
);

/** Runs PROBE with `wrap`; `hold` runs while its TCP connections are still open. */
async function probe(
  wrap: Wrap,
  steps: Step[],
  hold?: (outcomes: Outcome[]) => Promise<void>,
): Promise<Outcome[]> {
  const { file, args } = wrap(process.execPath, [
    '-e',
    PROBE,
    JSON.stringify(steps),
    String(REPLY_MS),
  ]);
  const child = execa(file, args, { stdin: 'pipe', reject: false, timeout: 20_000 });
  try {
    const outcomes = JSON.parse(await firstLine(child)) as Outcome[];
    await hold?.(outcomes);
    return outcomes;
  } finally {
    child.stdin?.end();
    await child;
  }
}

function firstLine(child: ResultPromise, expected?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered
        .split('\n')
        .slice(0, -1)
        .find((l) => expected === undefined || l === expected);
      if (line !== undefined) resolve(line);
    });
    void child.then((result) =>
      reject(new Error(`exited before printing a line: ${String(result.stderr)}`)),
    );
  });
}

interface CountingListener {
  connections(): string[];
  stop(): Promise<void>;
}

async function startCountingListener(
  cage: Cage,
  ports: readonly number[],
): Promise<CountingListener> {
  const { file, args } = cage.wrap(process.execPath, [
    '-e',
    COUNTING_LISTENER,
    ...ports.map(String),
  ]);
  const child = execa(file, args, { reject: false, stdin: 'ignore' });
  const seen: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n'))
      if (line.startsWith('connection ')) seen.push(line);
  });
  await firstLine(child, 'listening');
  return {
    connections: () => [...seen],
    async stop() {
      child.kill('SIGKILL');
      await child;
    },
  };
}

interface OpenRedis {
  port: number;
  url: string;
  /** Connections it has accepted since it started, those of these helpers aside. */
  otherConnections(): Promise<number>;
  /** The address of every client connected now. */
  clientAddresses(): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * A redis-server on every address of the host (password-protected): if anything from the cage
 * reached the host's stack at its port, it would answer.
 */
async function startOpenRedis(root: string): Promise<OpenRedis> {
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const dir = join(root, 'redis');
  await mkdir(dir, { recursive: true });
  const child = execa(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '0.0.0.0',
      '--protected-mode',
      'yes',
      '--requirepass',
      password,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { reject: false, stdio: 'ignore', cleanup: true },
  );
  let ownCalls = 0;
  const cli = async (...args: string[]) => {
    ownCalls++;
    return (
      await execa(
        'redis-cli',
        ['-h', '127.0.0.1', '-p', String(port), '-a', password, '--no-auth-warning', ...args],
        {
          timeout: 10_000,
        },
      )
    ).stdout;
  };
  await until(
    'redis-server answering',
    async () => ((await cli('ping').catch(() => '')) === 'PONG' ? true : undefined),
    10_000,
  );
  return {
    port,
    url: `redis://:${password}@127.0.0.1:${port}`,
    async otherConnections() {
      const match = /^total_connections_received:(\d+)/m.exec(await cli('info', 'stats'));
      return Number(match?.[1]) - ownCalls;
    },
    async clientAddresses() {
      const list = await cli('client', 'list');
      return [...list.matchAll(/ addr=([^ ]+):\d+ /g)].map((m) => m[1] ?? '');
    },
    async stop() {
      child.kill('SIGTERM');
      await child;
    },
  };
}

interface Outsider {
  netns: string;
  /** The host's end of the outsider's veth. */
  hostAddress: string;
  wrap: Wrap;
  dispose(): Promise<void>;
}

/** A namespace of this test's own, joined to the host by a veth pair, its one route the host. */
async function makeOutsider(): Promise<Outsider> {
  const tag = randomBytes(3).toString('hex');
  const netns = `ctreach-${tag}`;
  const hostInterface = `ctr${tag}h`;
  // Link-local, away from the test internet's 169.254.100-199 and from 169.254.169.254.
  const third = 200 + randomInt(50);
  const fourth = randomInt(64) * 4;
  const hostAddress = `169.254.${third}.${fourth + 1}`;
  const innerAddress = `169.254.${third}.${fourth + 2}`;
  const ip = (...args: string[]) => execa('ip', args, { timeout: 10_000 });
  const dispose = async () => {
    await execa('ip', ['link', 'del', hostInterface], { reject: false, timeout: 10_000 });
    await execa('ip', ['netns', 'del', netns], { reject: false, timeout: 10_000 });
  };
  try {
    await ip('netns', 'add', netns);
    await ip('link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
    await writeFile(`/proc/sys/net/ipv6/conf/${hostInterface}/disable_ipv6`, '1');
    await ip('addr', 'add', `${hostAddress}/30`, 'dev', hostInterface);
    await ip('link', 'set', hostInterface, 'up');
    await ip('-n', netns, 'addr', 'add', `${innerAddress}/30`, 'dev', 'eth0');
    await ip('-n', netns, 'link', 'set', 'lo', 'up');
    await ip('-n', netns, 'link', 'set', 'eth0', 'up');
    await ip('-n', netns, 'route', 'add', 'default', 'via', hostAddress);
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    netns,
    hostAddress,
    wrap: (file, args) => ({ file: 'ip', args: ['netns', 'exec', netns, file, ...args] }),
    dispose,
  };
}

/**
 * The host's own IPv4 addresses besides loopback and the cages' and test namespaces' links of
 * other tests (whatever else is running), plus `ours`.
 */
async function otherHostAddresses(ours: string[]): Promise<string[]> {
  const { stdout } = await execa('ip', ['-j', '-4', 'addr', 'show'], { timeout: 10_000 });
  const links = JSON.parse(stdout) as Array<{
    ifname: string;
    addr_info?: Array<{ local?: string }>;
  }>;
  const found = links
    .filter((link) => link.ifname !== 'lo' && !/^ct/.test(link.ifname))
    .flatMap((link) => (link.addr_info ?? []).map((a) => a.local ?? ''))
    .filter((address) => address !== '' && !address.startsWith('127.'));
  return [...new Set([...found, ...ours])];
}

/** Ports this process listens on at every address (mockttp's, for one). */
async function wildcardListeners(): Promise<number[]> {
  const { stdout } = await execa('ss', ['-Hltnp'], { timeout: 10_000 });
  return stdout
    .split('\n')
    .filter((line) => line.includes(`pid=${process.pid},`))
    .map((line) => line.trim().split(/\s+/)[3] ?? '')
    .filter((local) => /^(\*|0\.0\.0\.0|\[::\]):\d+$/.test(local))
    .map((local) => Number(local.slice(local.lastIndexOf(':') + 1)));
}

/** Established TCP sockets of the host's namespace whose peer is `peerIp`. */
async function establishedFrom(
  peerIp: string,
): Promise<Array<{ local: { ip: string; port: number } }>> {
  const { stdout } = await execa('ss', ['-Htn', 'state', 'established'], { timeout: 10_000 });
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .map(([, , local = '', peer = '']) => ({ local: endpoint(local), peer: endpoint(peer) }))
    .filter((socket) => socket.peer.ip === peerIp)
    .map(({ local }) => ({ local }));
}

function endpoint(text: string): { ip: string; port: number } {
  const at = text.lastIndexOf(':');
  const ip = text
    .slice(0, at)
    .replace(/^\[|\]$/g, '')
    .replace(/^::ffff:/, '')
    .replace(/%.*$/, '');
  return { ip, port: Number(text.slice(at + 1)) };
}

function pick(flow: Flow | undefined): { ip: string; port: number; text: string } {
  return {
    ip: flow?.destination.ip ?? '',
    port: flow?.destination.port ?? 0,
    text: Buffer.from(flow?.raw ?? '', 'base64').toString(),
  };
}

/** What a flow carried, decoded, for searching. */
function flowText(flow: Flow): string {
  return [flow.raw, flow.request?.body]
    .map((b64text) => Buffer.from(b64text ?? '', 'base64').toString('latin1'))
    .join('\n');
}

function b64(text: string): string {
  return Buffer.from(text, 'latin1').toString('base64');
}

function httpGet(path: string, host = 'reach.test'): Buffer {
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
}

/** A DNS query for `name`'s A record. */
function dnsQuery(name: string): Buffer {
  const labels = name.split('.').map((label) => {
    const bytes = Buffer.from(label);
    return Buffer.concat([Buffer.from([bytes.length]), bytes]);
  });
  const header = Buffer.from([randomInt(256), randomInt(256), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

async function missing(tools: string[]): Promise<string | undefined> {
  for (const tool of tools) {
    const found = await execa('sh', ['-c', `command -v ${tool}`], { reject: false });
    if (found.exitCode !== 0) return `${tool} is not installed`;
  }
  return undefined;
}
