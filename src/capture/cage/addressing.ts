import { InputError } from '../../errors.ts';
import type { CageAddressing } from './types.ts';

/** 198.19.0.0/16 cut into /30 blocks: one per cage, so indices run 0..16383. */
export const CAGE_INDEX_COUNT = 16_384;
const BASE = (198 << 24) | (19 << 16);
const PREFIX_LENGTH = 30;

export const CAGE_NETNS_PREFIX = 'canarytrap-';
/** Every cage's host-side interface is `ctc<index>h`. */
export const CAGE_INTERFACE_PREFIX = 'ctc';
export const CAGE_INTERFACE_PATTERN = /^ctc(\d+)h$/;
export const CAGE_NETNS_PATTERN = /^canarytrap-(\d+)$/;
export const CAGE_TABLE_PATTERN = /^canarytrap_(\d+)$/;

/** Everything about a cage that follows from its index alone. */
export function addressingFor(index: number): CageAddressing {
  if (!Number.isInteger(index) || index < 0 || index >= CAGE_INDEX_COUNT) {
    throw new InputError(
      'cage-index-invalid',
      `cage index ${index} is not in 0..${CAGE_INDEX_COUNT - 1}`,
      {
        hint: 'cage indices come from the cage lease; pass one it handed out',
      },
    );
  }
  const block = BASE + index * 4;
  return {
    index,
    netns: `${CAGE_NETNS_PREFIX}${index}`,
    // Linux caps interface names at 15 characters; `ctc16383h` is 9.
    hostInterface: `${CAGE_INTERFACE_PREFIX}${index}h`,
    deviceInterface: 'eth0',
    gateway: dotted(block + 1),
    deviceIp: dotted(block + 2),
    prefixLength: PREFIX_LENGTH,
  };
}

/** The nftables table (family `ip`) that holds a cage's edge rules. */
export function edgeTableName(index: number): string {
  return `canarytrap_${index}`;
}

function dotted(address: number): string {
  return [24, 16, 8, 0].map((shift) => (address >>> shift) & 0xff).join('.');
}
