import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { startCapture, type CaptureSession } from '../../src/capture/index.ts';
import { resolveImageArgument } from '../../src/cli/image-argument.ts';
import type { RunningDevice } from '../../src/device/device.ts';
import { LabPhoneLauncher } from '../../src/device/lab-phone/launcher.ts';
import { ImageStore, intakeImage, type StoredImage } from '../../src/intake/index.ts';
import { silentLogger } from '../../src/log.ts';
import { startPipelineEnv, type PipelineEnv } from './pipeline-env.ts';

/** One lab image booted on a lab phone whose traffic goes to a capture of its own. */
export interface BootedLab {
  image: StoredImage;
  runDir: string;
  capture: CaptureSession;
  device: RunningDevice;
}

/**
 * A test's bench for lab phones outside the queue: a private world (startPipelineEnv), a temp
 * root, and a launcher leasing ports from a random range of its own, since other test files
 * lease from 5554 up meanwhile. Whatever it boots is stopped after the test, newest first.
 */
export interface LabBench {
  world: PipelineEnv;
  root: string;
  launcher: LabPhoneLauncher;
  /** Intakes an image (lab image name or path) once per bench. */
  intake(image: string): Promise<StoredImage>;
  /** Boots an image behind a new capture in `<root>/<runName>`. */
  boot(image: string, options?: { runName?: string; phoneNumber?: string }): Promise<BootedLab>;
  /** Registers something to stop with the bench (a device launched by hand, a server). */
  onStop(stop: () => Promise<unknown>): void;
}

export async function startLabBench(t: TestContext, name: string): Promise<LabBench> {
  const logger = silentLogger();
  const world = await startPipelineEnv();
  const root = await mkdtemp(join(tmpdir(), `${name}-`));
  const stops: Array<() => Promise<unknown>> = [];
  t.after(async () => {
    // stop() of devices and captures is idempotent: a test may have stopped them itself.
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await world.close();
    await rm(root, { recursive: true, force: true });
  });
  const first = 20_000 + 2 * randomInt(10_000);
  const launcher = new LabPhoneLauncher({
    adb: world.adb,
    consoleAuthTokenPath: world.config.consoleAuthTokenPath,
    leases: { lockDir: join(root, 'leases'), first, last: first + 60 },
  });
  const images = new Map<string, Promise<StoredImage>>();
  const bench: LabBench = {
    world,
    root,
    launcher,
    intake(image) {
      let stored = images.get(image);
      if (!stored) {
        stored = resolveImageArgument(image, world.config).then((resolved) =>
          intakeImage(resolved.path, new ImageStore(world.config.dataRoot), { logger }),
        );
        images.set(image, stored);
      }
      return stored;
    },
    async boot(image, options = {}) {
      const stored = await bench.intake(image);
      const runDir = join(root, options.runName ?? `run-${stops.length}`);
      const capture = await startCapture({ runDir, logger });
      stops.push(() => capture.stop());
      const device = await launcher.launch({
        imageDir: stored.dir,
        runDir,
        network: { dnsServer: capture.dns, httpProxy: capture.proxy },
        ...(options.phoneNumber ? { phoneNumber: options.phoneNumber } : {}),
        logger,
      });
      stops.push(() => device.stop());
      return { image: stored, runDir, capture, device };
    },
    onStop(stop) {
      stops.push(stop);
    },
  };
  return bench;
}

/** Polls `probe` until it yields a value; fails the test naming `what` after `ms`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}
