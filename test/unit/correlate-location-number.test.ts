import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanarySet } from '../../src/canary/types.ts';
import { correlate } from '../../src/correlate/index.ts';
import type { InstrumentationEvent } from '../../src/android/instrumentation-events.ts';

function locationSet(value: string): CanarySet {
  return {
    version: 1,
    runId: 'location-number',
    canaries: [{ id: 'c01', kind: 'location', value, context: 'last known location' }],
  };
}

function smsWith(body: string): InstrumentationEvent {
  return {
    t: 1,
    source: 'lab',
    pid: 1,
    package: 'com.example',
    type: 'sms.send',
    destination: '+15555550111',
    body,
  };
}

test('a location whose planted text ends in zeros is found where JSON wrote the shorter number', () => {
  // The canary is written with six decimals; JSON.stringify and Double.toString drop the zeros.
  const set = locationSet('43.885710,-131.904500');
  const body = JSON.stringify({ location: { lat: 43.88571, lng: -131.9045 } });
  assert.equal(body, '{"location":{"lat":43.88571,"lng":-131.9045}}');
  const { leaks } = correlate({ canaries: set, flows: [], events: [smsWith(body)] });
  assert.equal(leaks.length, 1, JSON.stringify(leaks));
  assert.equal(leaks[0]?.canary.kind, 'location');
  assert.match(leaks[0]?.evidence.matched ?? '', /43\.88571 … -131\.9045/);
});

test('one coordinate alone, or a shortened form with too few digits left, is not a leak', () => {
  const half = correlate({
    canaries: locationSet('43.885710,-131.904500'),
    flows: [],
    events: [smsWith('{"lat":43.88571,"lng":12.5}')],
  });
  assert.deepEqual(half.leaks, []);
  const vague = correlate({
    canaries: locationSet('-58.090000,-47.062744'),
    flows: [],
    events: [smsWith('{"lat":-58.09,"lng":-47.062744}')],
  });
  assert.deepEqual(vague.leaks, [], 'two decimals are too common to count');
});
