import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InventoryApp } from '../../src/intake/inventory/types.ts';
import { planAttachTargets } from '../../src/instrument/attach-plan.ts';
import { ProcessAttacher } from '../../src/instrument/attacher.ts';
import { EventQueue } from '../../src/instrument/event-queue.ts';
import { parseEventLines } from '../../src/instrument/device-events.ts';
import type {
  FridaDetachReason,
  FridaDevice,
  FridaMessage,
  FridaProcess,
  FridaSession,
  FridaSpawn,
} from '../../src/instrument/frida-api.ts';
import { silentLogger } from '../../src/log.ts';
import { inventoryApp } from '../support/inventory-app.ts';

const logger = silentLogger();

class Signal<H extends (...args: never[]) => void> {
  readonly handlers = new Set<H>();
  connect(handler: H): void {
    this.handlers.add(handler);
  }
  disconnect(handler: H): void {
    this.handlers.delete(handler);
  }
  emit(...args: Parameters<H>): void {
    for (const handler of this.handlers) handler(...args);
  }
}

/** frida-node's Device as the attacher sees it, with a process table the test changes. */
class FakeDevice implements FridaDevice {
  readonly spawnAdded = new Signal<(spawn: FridaSpawn) => void>();
  readonly log: string[] = [];
  readonly sessions = new Map<
    number,
    {
      detached: Signal<(r: FridaDetachReason, c: unknown) => void>;
      message: Signal<(m: FridaMessage, d: Buffer | null) => void>;
    }
  >();
  constructor(public processes: FridaProcess[]) {}
  async enumerateProcesses(): Promise<FridaProcess[]> {
    return [...this.processes];
  }
  async enableSpawnGating(): Promise<void> {
    this.log.push('gate on');
  }
  async disableSpawnGating(): Promise<void> {
    this.log.push('gate off');
  }
  async resume(pid: number): Promise<void> {
    this.log.push(`resume ${pid}`);
  }
  async attach(pid: number): Promise<FridaSession> {
    if (!this.processes.some((p) => p.pid === pid))
      throw new Error(`unable to find process with pid ${pid}`);
    this.log.push(`attach ${pid}`);
    const detached = new Signal<(r: FridaDetachReason, c: unknown) => void>();
    const message = new Signal<(m: FridaMessage, d: Buffer | null) => void>();
    this.sessions.set(pid, { detached, message });
    return {
      detached,
      detach: async () => void this.log.push(`detach ${pid}`),
      createScript: async (source: string) => ({
        message,
        exports: {
          configure: async (options: unknown) =>
            void this.log.push(`configure ${pid} ${source} ${JSON.stringify(options)}`),
        },
        load: async () => void this.log.push(`load ${pid}`),
        unload: async () => undefined,
      }),
    };
  }
}

function app(
  pkg: string,
  permissions: InventoryApp['permissions'],
  extra: Partial<InventoryApp> = {},
): InventoryApp {
  return inventoryApp({ package: pkg, path: `/system/app/${pkg}.apk`, permissions, ...extra });
}

test('attach plan: system processes, then apps with dangerous or privileged permissions by reach; job override wins', () => {
  const apps = [
    app('com.example.calculator', [{ name: 'android.permission.VIBRATE', protection: 'normal' }]),
    app('com.example.weather', [
      { name: 'android.permission.ACCESS_FINE_LOCATION', protection: 'dangerous' },
    ]),
    app(
      'com.adups.fota',
      [{ name: 'android.permission.INSTALL_PACKAGES', protection: 'privileged' }],
      {
        privileged: true,
        systemUid: true,
      },
    ),
  ];
  assert.deepEqual(planAttachTargets(apps), [
    'system_server',
    'com.android.phone',
    'com.adups.fota',
    'com.example.weather',
  ]);
  assert.deepEqual(planAttachTargets(apps, { limit: 1 }), [
    'system_server',
    'com.android.phone',
    'com.adups.fota',
  ]);
  assert.deepEqual(
    planAttachTargets(apps, { override: ['com.example.calculator', 'system_server'] }),
    ['system_server', 'com.android.phone', 'com.example.calculator'],
  );
});

test('attacher hooks running targets, gates spawns, resumes every spawn, forwards events, re-attaches after a crash', async () => {
  const device = new FakeDevice([
    { pid: 100, name: 'system_server' },
    { pid: 200, name: 'com.android.phone' },
    { pid: 300, name: 'com.adups.fota' },
    { pid: 400, name: 'com.example.calculator' },
  ]);
  const events: unknown[] = [];
  const attacher = new ProcessAttacher({
    device,
    agentSource: 'AGENT',
    targets: ['system_server', 'com.android.phone', 'com.adups.fota', 'com.suspect'],
    agentOptions: (name) => ({ package: name }),
    onEvent: (event) => events.push(event),
    logger,
    reattachWindowMs: 2_000,
  });
  const started = await attacher.start();
  assert.deepEqual(started.attached, ['com.adups.fota', 'com.android.phone', 'system_server']);
  assert.equal(device.log[0], 'gate on', 'spawns are gated before the process list is read');
  assert.ok(device.log.includes('configure 300 AGENT {"package":"com.adups.fota"}'));

  // A target spawned later is hooked before it resumes; a non-target is resumed untouched.
  device.processes.push({ pid: 500, name: 'com.suspect:push' }, { pid: 600, name: 'com.other' });
  device.spawnAdded.emit({ pid: 500, identifier: 'com.suspect:push' });
  device.spawnAdded.emit({ pid: 600, identifier: 'com.other' });
  await waitFor(() => device.log.includes('resume 500') && device.log.includes('resume 600'));
  const at = (entry: string) => device.log.indexOf(entry);
  assert.ok(at('load 500') < at('resume 500'), device.log.join('\n'));
  assert.equal(at('attach 600'), -1);

  device.sessions
    .get(300)
    ?.message.emit({ type: 'send', payload: { type: 'event', event: { type: 'exec' } } }, null);
  device.sessions
    .get(300)
    ?.message.emit({ type: 'send', payload: { type: 'log', text: 'not an event' } }, null);
  assert.deepEqual(events, [{ type: 'exec' }]);

  // The FOTA app crashes and comes back with a new pid: it is found and hooked again.
  device.processes = device.processes.filter((p) => p.pid !== 300);
  device.sessions.get(300)?.detached.emit('process-terminated', null);
  setTimeout(() => device.processes.push({ pid: 301, name: 'com.adups.fota' }), 300);
  await waitFor(() => device.log.includes('load 301'));
  assert.deepEqual(attacher.names(), [
    'com.adups.fota',
    'com.android.phone',
    'com.suspect:push',
    'system_server',
  ]);
  assert.equal(attacher.stats().reattached, 1);

  await attacher.stop();
  assert.ok(device.log.includes('gate off'));
  for (const pid of [100, 200, 301, 500])
    assert.ok(device.log.includes(`detach ${pid}`), `detached ${pid}`);
});

test('event queue is bounded: drops past capacity and counts it, rejects invalid events, writes JSONL', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'instrument-queue-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'events.jsonl');
  const queue = new EventQueue({ path, logger, capacity: 3, flushIntervalMs: 60_000 });
  const event = (n: number) => ({
    t: n,
    source: 'frida',
    pid: 1,
    package: 'com.x',
    type: 'exec',
    command: `cmd ${n}`,
  });
  const accepted = [1, 2, 3, 4, 5].map((n) => queue.push(event(n)));
  assert.deepEqual(accepted, [true, true, true, false, false]);
  assert.equal(queue.push({ type: 'exec' }), false);
  await queue.flush();
  assert.equal(queue.push(event(6)), true, 'room again once written');
  const counts = await queue.close();
  assert.deepEqual(counts, { written: 4, dropped: 2, invalid: 1 });
  const { events, bad } = parseEventLines(await readFile(path, 'utf8'));
  assert.deepEqual(bad, []);
  assert.deepEqual(
    events.map((e) => e.t),
    [1, 2, 3, 6],
  );
});

async function waitFor(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
