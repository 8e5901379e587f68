import type { ZipLimits } from '../android/zip-safe.ts';

/** How a submitted image is staged: shared by the plain, OTA and super-image stagers. */
export interface StageOptions {
  zipLimits: ZipLimits;
  /** Largest raw system.img accepted (a sparse image's expanded size). */
  maxImageBytes: number;
  timeoutMs: number;
  /** Private work space for containers (payload.bin, super.img) on the store's disk. */
  scratchDir: string;
}
