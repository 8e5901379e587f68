import { startAgent } from '../agent.ts';
import { allSets } from '../sets/index.ts';

startAgent(allSets);
