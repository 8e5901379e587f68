export { addressingFor, CAGE_INDEX_COUNT } from './addressing.ts';
export { createCage } from './cage.ts';
export { checkCageCapability } from './capability.ts';
export { DEFAULT_CAGE_LOCK_DIR } from './lease.ts';
export { sweepCages } from './sweep.ts';
export type * from './types.ts';
