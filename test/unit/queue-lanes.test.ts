import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  detectHostCapabilities,
  hostSlots,
  RUN_MEMORY_MIB,
} from '../../src/queue/host-capabilities.ts';
import { laneBlockedReason, laneForJob, lanesServedBy, LANES } from '../../src/queue/lanes.ts';
import { parseAnalysisOptions } from '../../src/queue/job-options.ts';

test('a job naming the SDK emulator needs KVM and its ABI; everything else starts anywhere', () => {
  assert.equal(laneForJob({ options: {} }), 'any');
  assert.equal(laneForJob({ options: { launcher: 'lab-phone' } }), 'any');
  assert.equal(laneForJob({ options: { launcher: 'sdk-emulator' } }), 'emulator-x86_64');
  assert.equal(
    laneForJob({ options: { launcher: 'sdk-emulator', abi: 'arm64' } }),
    'emulator-arm64',
  );
  assert.deepEqual(LANES['emulator-x86_64'].needs, ['kvm', 'x86_64']);
});

test('a worker serves exactly the lanes whose needs it has', () => {
  assert.deepEqual(lanesServedBy(['lab-phone', 'x86_64']), ['any']);
  assert.deepEqual(lanesServedBy(['lab-phone', 'x86_64', 'kvm']), ['any', 'emulator-x86_64']);
  assert.deepEqual(lanesServedBy(['lab-phone', 'arm64', 'kvm']), ['any', 'emulator-arm64']);
});

test('a lane no connected worker serves names what the best-equipped one lacks', () => {
  const lab = { capabilities: ['lab-phone', 'x86_64'] as const };
  const armKvm = { capabilities: ['lab-phone', 'arm64', 'kvm'] as const };
  assert.equal(laneBlockedReason('emulator-x86_64', [lab]), 'no worker with: kvm');
  assert.equal(laneBlockedReason('emulator-x86_64', [lab, armKvm]), 'no worker with: kvm');
  assert.equal(laneBlockedReason('emulator-arm64', [lab, armKvm]), undefined);
  assert.equal(laneBlockedReason('any', [lab]), undefined);
  assert.equal(
    laneBlockedReason('emulator-x86_64', []),
    'no worker with: kvm, x86_64 (no worker is connected)',
  );
  assert.equal(laneBlockedReason('any', []), 'no worker is connected');
});

test('kvm is advertised only with an SDK emulator and /dev/kvm, and each absence says why', async () => {
  const probe = (kvm: boolean, emulator: boolean, arch = 'x64') => ({
    arch,
    kvmAccessible: async () => kvm,
    emulatorPresent: async () => emulator,
  });
  const none = await detectHostCapabilities({ androidHome: undefined }, probe(true, true));
  assert.deepEqual(none.capabilities, ['lab-phone', 'x86_64']);
  assert.match(none.missing['kvm'] ?? '', /ANDROID_HOME is not set/);
  const noBinary = await detectHostCapabilities({ androidHome: '/sdk' }, probe(true, false));
  assert.match(noBinary.missing['kvm'] ?? '', /\/sdk\/emulator\/emulator is missing/);
  const noKvm = await detectHostCapabilities({ androidHome: '/sdk' }, probe(false, true));
  assert.match(noKvm.missing['kvm'] ?? '', /\/dev\/kvm cannot be opened/);
  const full = await detectHostCapabilities({ androidHome: '/sdk' }, probe(true, true, 'arm64'));
  assert.deepEqual(full.capabilities, ['lab-phone', 'arm64', 'kvm']);
  assert.deepEqual(full.missing, {});
});

test('slots are what was asked unless free memory holds fewer runs, never below one', () => {
  assert.deepEqual(hostSlots(2, ['lab-phone'], 16_000), { slots: 2 });
  const emulators = hostSlots(8, ['lab-phone', 'kvm'], RUN_MEMORY_MIB.emulator * 3 + 100);
  assert.equal(emulators.slots, 3);
  assert.match(emulators.limitedBy ?? '', /holds 3 run\(s\) of 4096 MiB/);
  assert.equal(hostSlots(4, ['lab-phone'], 10).slots, 1);
});

test('the ABI option is checked by the one options schema', () => {
  assert.deepEqual(parseAnalysisOptions({ launcher: 'sdk-emulator', abi: 'arm64' }), {
    launcher: 'sdk-emulator',
    abi: 'arm64',
  });
  assert.throws(() => parseAnalysisOptions({ abi: 'mips' }), /"abi" must be one of x86_64, arm64/);
});
