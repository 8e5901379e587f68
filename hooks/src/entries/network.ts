import { startAgent } from '../agent.ts';
import { networkSet } from '../sets/index.ts';

startAgent([networkSet]);
