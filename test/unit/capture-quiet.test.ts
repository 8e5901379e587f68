import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitForQuiet } from '../../src/capture/index.ts';
import type { Flow } from '../../src/capture/index.ts';

function fakeCapture() {
  const listeners = new Set<(flow: Flow) => void>();
  return {
    onFlow(listener: (flow: Flow) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit() {
      const flow: Flow = {
        id: 'x',
        t: Date.now(),
        protocol: 'tcp',
        destination: { ip: '198.18.0.1', port: 1 },
      };
      for (const listener of listeners) listener(flow);
    },
    listenerCount: () => listeners.size,
  };
}

void test('waitForQuiet waits for a gap in flows, and unsubscribes', async () => {
  const capture = fakeCapture();
  const started = Date.now();
  const ticker = setInterval(() => capture.emit(), 20);
  setTimeout(() => clearInterval(ticker), 200);
  await waitForQuiet(capture, { quietMs: 80, maxMs: 2000 });
  const waited = Date.now() - started;
  assert.ok(waited >= 250, `waited ${waited} ms, flows were still arriving until 200 ms`);
  assert.ok(waited < 1500, `waited ${waited} ms`);
  assert.equal(capture.listenerCount(), 0);
});

void test('waitForQuiet gives up after maxMs when flows never stop', async () => {
  const capture = fakeCapture();
  const ticker = setInterval(() => capture.emit(), 10);
  const started = Date.now();
  await waitForQuiet(capture, { quietMs: 100, maxMs: 300 });
  clearInterval(ticker);
  const waited = Date.now() - started;
  assert.ok(waited >= 290 && waited < 1000, `waited ${waited} ms`);
});
