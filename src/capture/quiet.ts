/** Something that captures flows: the capture session, seen only through its flow count. */
export interface FlowSource {
  flows(): readonly unknown[];
}

/**
 * Resolves once no new flow has arrived for `quietMs`, or after `maxMs` at the latest: the
 * device has finished what the last trigger started, as far as the network shows.
 */
export async function waitForQuiet(
  source: FlowSource,
  options: { quietMs: number; maxMs: number; pollMs?: number },
): Promise<void> {
  const started = Date.now();
  let count = source.flows().length;
  let lastChange = started;
  while (Date.now() - started < options.maxMs) {
    await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
    const now = source.flows().length;
    if (now !== count) {
      count = now;
      lastChange = Date.now();
    } else if (Date.now() - lastChange >= options.quietMs) {
      return;
    }
  }
}
