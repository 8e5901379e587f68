// A worker stand-in for the cage tests: creates a cage, says which, and waits to be killed.
import { createCage } from '../../src/capture/cage/index.ts';
import { silentLogger } from '../../src/log.ts';

const [stateDir] = process.argv.slice(2);
if (stateDir === undefined) throw new Error('usage: capture-cage-child.ts <stateDir>');
const cage = await createCage({ stateDir, logger: silentLogger() });
console.log(JSON.stringify(cage.addressing));
setInterval(() => undefined, 60_000);
