import type { FuzzTarget } from './fuzz-harness.ts';
import { harTarget, pcapngTarget, pcapTarget, tlsTarget } from './fuzz-targets-capture.ts';
import { erofsTarget, ext4Target, sparseTarget, zipTarget } from './fuzz-targets-images.ts';
import { payloadTarget, superTarget, transferListTarget } from './fuzz-targets-ota.ts';

/**
 * Every fuzzed parser, registered here once: the test and `npm run fuzz` both run this list.
 * Each builder gets a private scratch directory for its input file and outputs.
 */
export const FUZZ_TARGETS = {
  sparse: sparseTarget,
  ext4: ext4Target,
  erofs: erofsTarget,
  payload: payloadTarget,
  super: superTarget,
  'transfer-list': transferListTarget,
  zip: zipTarget,
  pcap: pcapTarget,
  pcapng: pcapngTarget,
  har: harTarget,
  tls: tlsTarget,
} as const satisfies Record<string, (scratch: string) => Promise<FuzzTarget>>;

export type FuzzTargetName = keyof typeof FUZZ_TARGETS;

export const FUZZ_TARGET_NAMES = Object.keys(FUZZ_TARGETS) as FuzzTargetName[];

/** Parsers the issue names that do not exist yet: reported, not fuzzed. */
export const NOT_YET_FUZZED = {
  hpack: 'no HPACK decoder in src/ yet (HTTP/2 is not parsed); nothing to fuzz',
} as const;
