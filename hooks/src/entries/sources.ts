import { startAgent } from '../agent.ts';
import { sourcesSet } from '../sets/index.ts';

startAgent([sourcesSet]);
