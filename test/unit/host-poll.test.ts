import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCanarytrapError } from '../../src/errors.ts';
import { pollUntil, type Clock } from '../../src/host/poll.ts';

/** A clock whose sleeps move time on at once: the waits below take no real time. */
function fakeClock(): Clock & { slept: number[] } {
  let now = 1_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

test('pollUntil resolves with the first value the probe yields', async () => {
  const clock = fakeClock();
  let calls = 0;
  const value = await pollUntil({
    what: 'the third probe',
    probe: async () => (++calls === 3 ? 'ready' : undefined),
    timeoutMs: 10_000,
    setting: 'waitMs',
    intervalMs: 100,
    clock,
  });
  assert.equal(value, 'ready');
  assert.deepEqual(clock.slept, [100, 100]);
});

test('on timeout the error names what was awaited, for how long, and the setting to raise', async () => {
  const clock = fakeClock();
  const error = await pollUntil({
    what: 'frida-server on 127.0.0.1:27042',
    probe: async () => false,
    timeoutMs: 1_000,
    setting: 'startTimeoutMs',
    clock,
  }).then(
    () => assert.fail('nothing ever held'),
    (e: unknown) => e,
  );
  assert.ok(isCanarytrapError(error));
  assert.equal(error.code, 'wait-timeout');
  assert.equal(
    error.message,
    'timed out after 1000 ms waiting for frida-server on 127.0.0.1:27042',
  );
  assert.match(error.hint ?? '', /raise startTimeoutMs \(now 1000 ms\)/);
});

test('pollUntil stops at once when told to give up or aborted', async () => {
  const gone = new Error('the process exited');
  await assert.rejects(
    pollUntil({
      what: 'boot',
      probe: async () => false,
      timeoutMs: 60_000,
      setting: 'bootTimeoutMs',
      clock: fakeClock(),
      giveUp: () => gone,
    }),
    gone,
  );
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    pollUntil({
      what: 'boot',
      probe: async () => false,
      timeoutMs: 60_000,
      setting: 'bootTimeoutMs',
      clock: fakeClock(),
      signal: controller.signal,
    }),
    { name: 'AbortError' },
  );
});
