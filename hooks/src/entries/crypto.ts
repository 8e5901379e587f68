import { startAgent } from '../agent.ts';
import { cryptoSet } from '../sets/index.ts';

startAgent([cryptoSet]);
