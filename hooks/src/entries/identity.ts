import { startAgent } from '../agent.ts';
import { identitySet } from '../sets/index.ts';

startAgent([identitySet]);
