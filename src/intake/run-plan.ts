import type { LauncherRunMode } from '../device/launchers.ts';
import type { TransplantPlan } from '../image-build/transplant/types.ts';

/**
 * How canarytrap will run an image: on the lab phone (lab images carry their behaviour file), in
 * the SDK emulator (the image brings kernel, ramdisk and system.img for an ABI this host runs),
 * by moving its vendor apps onto a base image of the same API level (transplant), or not at all
 * (static findings only), with the reason in words a user can act on.
 */
export interface RunPlan {
  /** A launcher's run mode (`emulator` for the SDK emulator), or no launcher boots it as it is. */
  mode: LauncherRunMode | 'transplant' | 'static-only';
  reason: string;
  /** Set when mode is `transplant`: the base, the apps moved and what they lose. */
  transplant?: TransplantPlan;
}

export interface RunPlanInput {
  /** The image holds /etc/canarytrap/lab-image.json. */
  labImage: boolean;
  /** The lab phone reads ext4 only; an erofs lab image runs in the emulator or not at all. */
  filesystem: 'ext4' | 'erofs';
  /** Files stored beside system.img (kernel-ranchu, ramdisk.img, ...). */
  files: readonly string[];
  abis: readonly string[];
}

export interface EmulatorHost {
  /** ABIs the installed SDK emulator runs with acceleration here, e.g. ['x86_64', 'x86']. */
  abis: readonly string[];
}

const KERNELS = ['kernel-ranchu', 'kernel-ranchu-64', 'kernel-qemu'];

/** `emulator` undefined: no Android SDK emulator on this host. */
export function planRun(input: RunPlanInput, emulator: EmulatorHost | undefined): RunPlan {
  if (input.labImage && input.filesystem === 'ext4') {
    return {
      mode: 'lab-phone',
      reason:
        'a lab image: the lab phone boots it from its behaviour file; it needs no kernel or ramdisk',
    };
  }
  const plan = planEmulatorRun(input, emulator);
  if (!input.labImage) return plan;
  return {
    ...plan,
    reason: `a lab image on ${input.filesystem}, which the lab phone cannot read (it reads ext4); ${plan.reason}`,
  };
}

function planEmulatorRun(input: RunPlanInput, emulator: EmulatorHost | undefined): RunPlan {
  const kernel = KERNELS.find((k) => input.files.includes(k));
  const missing = [
    kernel ? undefined : 'kernel (kernel-ranchu)',
    input.files.includes('ramdisk.img') ? undefined : 'ramdisk.img',
  ].filter((m): m is string => m !== undefined);
  if (missing.length > 0) {
    return {
      mode: 'static-only',
      reason: `not emulator-bootable: the image has no ${missing.join(' and no ')}`,
    };
  }
  const abi = input.abis.find((a) => emulator?.abis.includes(a));
  if (!emulator) {
    return {
      mode: 'static-only',
      reason:
        'the image is emulator-bootable, but no Android SDK emulator is installed here (set ANDROID_HOME to an SDK with the emulator package)',
    };
  }
  if (!abi) {
    return {
      mode: 'static-only',
      reason: `the image is built for ${input.abis.join(', ') || 'an unknown ABI'}; the emulator here runs ${emulator.abis.join(', ')}`,
    };
  }
  return {
    mode: 'emulator',
    reason: `boots as-is in the SDK emulator (${abi}, kernel ${kernel ?? ''})`,
  };
}
