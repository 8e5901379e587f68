import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { correlate } from '../../src/correlate/index.ts';
import { CanarytrapError } from '../../src/errors.ts';
import { RUN_FILES } from '../../src/run/run-dir.ts';
import type { RunContext } from '../context.ts';

/** Finds every canary in the flows and events; each leak is published the moment it is found. */
export async function correlateStage(context: RunContext): Promise<string> {
  const { canaries, runDir } = context;
  if (!canaries || !runDir) throw new CanarytrapError('stage-order', 'correlate needs plant first');
  const leaksPath = join(runDir, RUN_FILES.leaks);
  await writeFile(leaksPath, '');
  const pending: Array<Promise<void>> = [];
  const result = correlate(
    { canaries: canaries.set, flows: context.flows, events: context.events },
    {
      onLeak: (leak) => {
        pending.push(
          appendFile(leaksPath, `${JSON.stringify(leak)}\n`),
          context.publish({ type: 'leak', leak, at: Date.now() }),
        );
      },
    },
  );
  await Promise.all(pending);
  context.leaks = result.leaks;
  for (const warning of result.warnings) context.limitations.push(warning);
  const kinds = new Set(result.leaks.map((l) => l.canary.kind));
  const unread = result.opaque.filter((o) => !o.plaintextFromHook).length;
  return `${result.leaks.length} leaks of ${kinds.size} canary kinds${unread > 0 ? `; ${unread} flows capture could not read` : ''}`;
}
