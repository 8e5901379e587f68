import { freemem } from 'node:os';
import { canOpenKvm, emulatorBinaryPath, isExecutable, KVM_DEVICE } from '../android/sdk-host.ts';
import type { Config } from '../config.ts';
import { LAB_PHONE_CAPABILITY, type Capability } from './lanes.ts';

/** What this host can run, and for each capability it lacks, why (shown to people). */
export interface HostCapabilities {
  capabilities: Capability[];
  missing: Record<string, string>;
}

/** Injectable facts, for tests; the defaults read this host. */
export interface HostProbe {
  arch: string;
  kvmAccessible(): Promise<boolean>;
  emulatorPresent(androidHome: string): Promise<boolean>;
}

const realProbe: HostProbe = {
  arch: process.arch,
  kvmAccessible: () => canOpenKvm(KVM_DEVICE),
  emulatorPresent: (androidHome) => isExecutable(emulatorBinaryPath(androidHome)),
};

const ARCH_CAPABILITY: Record<string, Capability> = { x64: 'x86_64', arm64: 'arm64' };

export async function detectHostCapabilities(
  config: Pick<Config, 'androidHome'>,
  probe: HostProbe = realProbe,
): Promise<HostCapabilities> {
  const capabilities: Capability[] = [LAB_PHONE_CAPABILITY];
  const missing: Record<string, string> = {};
  const arch = ARCH_CAPABILITY[probe.arch];
  if (arch) capabilities.push(arch);
  else missing['x86_64'] = `this host is ${probe.arch}`;
  const kvmProblem = !config.androidHome
    ? 'ANDROID_HOME is not set (no Android SDK emulator)'
    : !(await probe.emulatorPresent(config.androidHome))
      ? `${emulatorBinaryPath(config.androidHome)} is missing or not executable`
      : !(await probe.kvmAccessible())
        ? `${KVM_DEVICE} cannot be opened read-write`
        : undefined;
  if (kvmProblem) missing['kvm'] = kvmProblem;
  else capabilities.push('kvm');
  return { capabilities, missing };
}

/**
 * Memory one analysis needs, MiB: a lab phone with its proxy and correlation, or an SDK emulator
 * (its guest RAM, the emulator process and the same host side). Used to bound a host's slots.
 */
export const RUN_MEMORY_MIB = { labPhone: 512, emulator: 4096 } as const;

/**
 * How many analyses this host runs at once: what the operator asked for, lowered when the free
 * memory cannot hold that many of the largest run it may take, never below one.
 */
export function hostSlots(
  requested: number,
  capabilities: readonly Capability[],
  freeMemoryMiB = Math.floor(freemem() / 2 ** 20),
): { slots: number; limitedBy?: string } {
  const perRun = capabilities.includes('kvm') ? RUN_MEMORY_MIB.emulator : RUN_MEMORY_MIB.labPhone;
  const fits = Math.max(1, Math.floor(freeMemoryMiB / perRun));
  if (fits >= requested) return { slots: requested };
  return {
    slots: fits,
    limitedBy: `${freeMemoryMiB} MiB free holds ${fits} run(s) of ${perRun} MiB`,
  };
}
