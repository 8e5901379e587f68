import { LAUNCHER_NEEDS_KVM, type LauncherName } from '../config.ts';
import { ANALYSIS_QUEUE } from './names.ts';

/**
 * What a worker host can run, as it advertises it:
 * - `lab-phone`: the lab phone (every worker: it needs adb only);
 * - `kvm`: the SDK emulator with hardware acceleration (an Android SDK with the emulator, and
 *   /dev/kvm open read-write) — what a real firmware image boots on;
 * - `x86_64`, `arm64`: the host's architecture, which decides the system images the emulator runs.
 */
export const CAPABILITIES = ['lab-phone', 'kvm', 'x86_64', 'arm64'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** The capability every worker has: the lab phone needs adb only. */
export const LAB_PHONE_CAPABILITY: Capability = CAPABILITIES[0];

export const IMAGE_ABIS = ['x86_64', 'arm64'] as const;
export type ImageAbi = (typeof IMAGE_ABIS)[number];

/**
 * A lane is one BullMQ queue of jobs that need the same capabilities. Workers listen on the lanes
 * they can serve, so a job is only ever taken by a host that can run it; a job in a lane no
 * connected worker serves waits, and says for what (`no worker with: kvm`).
 */
export interface Lane {
  /** The BullMQ queue name. */
  queue: string;
  needs: readonly Capability[];
  /** For people: what runs in this lane. */
  title: string;
}

export const LANES = {
  // Lab images, and images whose run plan is made on the worker (a transplant onto a lab base,
  // or static-only when no base fits): every worker serves it.
  any: { queue: ANALYSIS_QUEUE, needs: [], title: 'lab phone, or decided by the worker' },
  'emulator-x86_64': {
    queue: `${ANALYSIS_QUEUE}-emulator-x86_64`,
    needs: ['kvm', 'x86_64'],
    title: 'SDK emulator, x86_64 images',
  },
  'emulator-arm64': {
    queue: `${ANALYSIS_QUEUE}-emulator-arm64`,
    needs: ['kvm', 'arm64'],
    title: 'SDK emulator, arm64 images',
  },
} as const satisfies Record<string, Lane>;

export type LaneName = keyof typeof LANES;
export const LANE_NAMES = Object.keys(LANES) as LaneName[];

/**
 * The lane a job runs in, from what its submitter knows: a job that names the SDK emulator needs
 * KVM (config.ts LAUNCHER_NEEDS_KVM) and a host of its ABI (x86_64 unless the job says); everything else — lab images, and
 * images whose plan the worker makes after intake — can start on any worker.
 */
export function laneForJob(data: {
  options: { launcher?: LauncherName; abi?: ImageAbi };
}): LaneName {
  const { launcher } = data.options;
  if (!launcher || !LAUNCHER_NEEDS_KVM[launcher]) return 'any';
  return `emulator-${data.options.abi ?? 'x86_64'}`;
}

/** The lanes a worker with these capabilities takes jobs from. */
export function lanesServedBy(capabilities: readonly Capability[]): LaneName[] {
  return LANE_NAMES.filter((name) =>
    LANES[name].needs.every((need) => capabilities.includes(need)),
  );
}

/**
 * Why a job of `lane` cannot start with these workers connected, or undefined when one of them
 * serves the lane. Names the capabilities the best-equipped worker lacks: "no worker with: kvm".
 */
export function laneBlockedReason(
  lane: LaneName,
  workers: readonly { capabilities: readonly Capability[] }[],
): string | undefined {
  const needs = LANES[lane].needs;
  if (workers.length === 0) {
    return needs.length > 0
      ? `no worker with: ${needs.join(', ')} (no worker is connected)`
      : 'no worker is connected';
  }
  const missing = workers
    .map((worker) => needs.filter((need) => !worker.capabilities.includes(need)))
    .sort((a, b) => a.length - b.length)[0];
  if (!missing || missing.length === 0) return undefined;
  return `no worker with: ${missing.join(', ')}`;
}
