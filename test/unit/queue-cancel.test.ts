import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CANCEL_REASON,
  isRunCancelled,
  RunCancelledError,
  settleWithin,
  untilCancelled,
} from '../../src/queue/cancel.ts';

function later<T>(ms: number, value: T, fail = false): Promise<T> {
  return new Promise((resolve, reject) =>
    setTimeout(() => (fail ? reject(new Error(String(value))) : resolve(value)), ms),
  );
}

void test('work that finishes first passes its value or error through', async () => {
  const controller = new AbortController();
  assert.equal(await untilCancelled(later(5, 'done'), controller.signal), 'done');
  await assert.rejects(untilCancelled(later(5, 'broke', true), controller.signal), /broke/);
  assert.equal(await untilCancelled(later(5, 'no signal'), undefined), 'no signal');
});

void test('a cancel ends the wait at once with RunCancelledError, the work left running', async () => {
  const controller = new AbortController();
  const work = later(200, 'slow');
  const started = Date.now();
  const waiting = untilCancelled(work, controller.signal);
  setTimeout(() => controller.abort(CANCEL_REASON), 10);
  const error = await waiting.catch((e: unknown) => e);
  assert.ok(error instanceof RunCancelledError);
  assert.ok(isRunCancelled(error));
  assert.equal(error.message, CANCEL_REASON);
  assert.equal(error.permanent, true, 'never retried');
  assert.ok(Date.now() - started < 150, 'did not wait for the work');
  assert.equal(await settleWithin(work, 1_000), 'settled');
});

void test('work cut short that fails afterwards is no unhandled rejection', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const controller = new AbortController();
    controller.abort(CANCEL_REASON);
    const work = later(20, 'device gone', true);
    await assert.rejects(untilCancelled(work, controller.signal), RunCancelledError);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(unhandled, []);
    assert.equal(await settleWithin(work, 1_000), 'failed');
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

void test('settleWithin gives up on work that hangs', async () => {
  const started = Date.now();
  assert.equal(await settleWithin(new Promise(() => undefined), 30), 'timeout');
  assert.ok(Date.now() - started < 500);
});
