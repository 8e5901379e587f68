import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHooks } from '../../scripts/build-hooks.mjs';
import { instrumentationEventSchema } from '../../src/android/instrumentation-events.ts';
import { defineAndroid } from './instrument-agents-support.ts';
import { FakeFrida } from './instrument-fake-frida.ts';

/** Event fields every agent event carries in these tests (the fake's pid, the configured package). */
export const base = { source: 'frida', pid: 4242, package: 'com.suspect' };
/** The fake's Java stack, without the hooked method's own frame. */
export const stack = [
  'com.suspect.Uploader.run(Uploader.java:42)',
  'java.lang.Thread.run(Thread.java:764)',
];
export const b64 = (data: Buffer | string): string => Buffer.from(data).toString('base64');

/** Builds the agent bundles into a temp dir for this test file (so `npm test` needs no prior step). */
export function builtBundles(): { path(name: string): string; names(): string[] } {
  let outDir = '';
  let bundles: Record<string, string> = {};
  before(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'canarytrap-hooks-'));
    bundles = await buildHooks(outDir);
  });
  after(() => rm(outDir, { recursive: true, force: true }));
  return {
    path(name) {
      const bundle = bundles[name];
      if (!bundle) throw new Error(`no bundle ${name} among ${Object.keys(bundles).join(', ')}`);
      return bundle;
    },
    names: () => Object.keys(bundles).sort(),
  };
}

/** Loads a bundle into a fresh fake runtime with the fake Android classes, then configures it. */
export async function loadAgent(
  bundle: string,
  options: Record<string, unknown> = {},
  setup: (frida: FakeFrida) => void = () => undefined,
): Promise<FakeFrida> {
  const frida = new FakeFrida();
  defineAndroid(frida);
  setup(frida);
  await frida.load(bundle);
  await frida.configure({ package: 'com.suspect', ...options });
  return frida;
}

export function assertSchema(frida: FakeFrida): void {
  for (const message of frida.messages) {
    const parsed = instrumentationEventSchema.safeParse((message as { event: unknown }).event);
    assert.ok(parsed.success, `event fails the schema: ${JSON.stringify(message)}`);
  }
}
