import { startAgent } from '../agent.ts';
import { channelsSet } from '../sets/index.ts';

startAgent([channelsSet]);
