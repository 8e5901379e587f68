/**
 * Cleanup steps run in reverse order of registration, each in its own try/catch so one failure
 * does not skip the rest, with a hard deadline for the whole.
 */
export class Teardown {
  readonly #steps: Array<{ name: string; run: () => Promise<void> }> = [];
  #done: Promise<string[]> | undefined;

  add(name: string, run: () => Promise<void>): void {
    this.#steps.push({ name, run });
  }

  /** Runs every step once; resolves with the failures as "name: message" lines. Idempotent. */
  run(deadlineMs = 30_000): Promise<string[]> {
    this.#done ??= this.#runAll(deadlineMs);
    return this.#done;
  }

  async #runAll(deadlineMs: number): Promise<string[]> {
    const failures: string[] = [];
    const deadline = Date.now() + deadlineMs;
    for (const step of this.#steps.reverse()) {
      const left = Math.max(1_000, deadline - Date.now());
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          step.run(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`did not finish within ${left} ms`)), left);
          }),
        ]);
      } catch (error) {
        failures.push(`${step.name}: ${(error as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    }
    return failures;
  }
}

export type NamedStep = readonly [name: string, run: () => Promise<void> | void];

/**
 * Runs named steps in order, each in its own try/catch, so one failure never skips the rest.
 * Resolves with the failures; never rejects.
 */
export async function runEachStep(
  steps: readonly NamedStep[],
): Promise<Array<{ step: string; error: unknown }>> {
  const failures: Array<{ step: string; error: unknown }> = [];
  for (const [name, run] of steps) {
    try {
      await run();
    } catch (error) {
      failures.push({ step: name, error });
    }
  }
  return failures;
}
