import { constants } from 'node:fs';
import { access, open } from 'node:fs/promises';
import { join } from 'node:path';

/** Facts about the worker host that decide whether an image can run; injectable for tests. */
export interface EmulatorHost {
  /** `process.arch`: x64 or arm64. */
  arch: string;
  /** Whether /dev/kvm can be opened read-write (hardware acceleration). */
  kvmAccessible(): Promise<boolean>;
}

export const KVM_DEVICE = '/dev/kvm';

export function realHost(): EmulatorHost {
  return { arch: process.arch, kvmAccessible: () => canOpenKvm(KVM_DEVICE) };
}

/** Opening the device, not only access(2): in containers the node can exist yet refuse to open. */
export async function canOpenKvm(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'r+');
    await handle.close();
    return true;
  } catch {
    return false;
  }
}

/** Where the SDK keeps the emulator: `$ANDROID_HOME/emulator/emulator`. */
export function emulatorBinaryPath(androidHome: string): string {
  return join(androidHome, 'emulator', 'emulator');
}

export async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const HOST_ABIS: Record<string, readonly string[]> = {
  x64: ['x86_64', 'x86'],
  arm64: ['arm64-v8a'],
};

/**
 * Why an image of `abi` cannot run on this host, or undefined. The emulator of the last years
 * runs only images of the host's own architecture family, and x86 images only with KVM.
 */
export async function abiProblem(abi: string, host: EmulatorHost): Promise<string | undefined> {
  const runnable = HOST_ABIS[host.arch] ?? [];
  if (!runnable.includes(abi)) {
    if (host.arch === 'x64' && abi.startsWith('arm')) {
      return `the image is ${abi}: the current Android emulator does not run ARM images on x86_64 hosts; use an x86_64 image of the same firmware or an arm64 host`;
    }
    return `the image is ${abi}, which the emulator cannot run on a ${host.arch} host (it runs ${runnable.join(', ') || 'nothing here'})`;
  }
  if (abi.startsWith('x86') && !(await host.kvmAccessible())) {
    return `the image is ${abi}, which the emulator runs only with KVM, and ${KVM_DEVICE} is not accessible: enable virtualization (VT-x/AMD-V) on the host and give the worker read-write access to ${KVM_DEVICE} (kvm group)`;
  }
  return undefined;
}
