import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseContainment } from '../../src/capture/run-network.ts';
import { isCanarytrapError } from '../../src/errors.ts';
import { isBundledLabImage } from '../../src/run/image-argument.ts';

const capable = { ok: true as const };
const incapable = {
  ok: false as const,
  reason: 'not running as root: network namespaces, veth pairs and nftables need it',
  hint: 'run the worker as root',
};

void test('a host that can make a cage always cages, bundled lab image or not', () => {
  assert.deepEqual(chooseContainment({ bundledLabImage: false, capability: capable }), {
    mode: 'caged',
  });
  assert.deepEqual(chooseContainment({ bundledLabImage: true, capability: capable }), {
    mode: 'caged',
  });
});

void test('without the capability a submitted image is refused, naming the fix and --uncontained', () => {
  assert.throws(
    () => chooseContainment({ bundledLabImage: false, capability: incapable }),
    (error: unknown) =>
      isCanarytrapError(error) &&
      error.code === 'cage-unavailable' &&
      error.permanent &&
      /not running as root/.test(error.message) &&
      /run the worker as root/.test(error.hint ?? '') &&
      /--uncontained/.test(error.hint ?? ''),
  );
});

void test('without the capability a bundled lab image runs uncaged, saying why', () => {
  const choice = chooseContainment({ bundledLabImage: true, capability: incapable });
  assert.equal(choice.mode, 'uncontained');
  assert.match(choice.mode === 'uncontained' ? choice.reason : '', /cannot make a cage/);
});

void test('--uncontained runs without a cage even where one could be made', () => {
  assert.deepEqual(
    chooseContainment({ uncontained: true, bundledLabImage: false, capability: capable }),
    { mode: 'uncontained', reason: 'run with --uncontained' },
  );
});

void test('only images built from images/lab into the data root count as bundled', () => {
  const config = { dataRoot: '/srv/canarytrap' };
  assert.equal(
    isBundledLabImage('/srv/canarytrap/cache/lab-images/adups-2016-ab12.zip', config),
    true,
  );
  assert.equal(isBundledLabImage('/srv/canarytrap/uploads/adups-2016.zip', config), false);
  assert.equal(isBundledLabImage('/srv/canarytrap/cache/lab-images/../x.zip', config), false);
  assert.equal(isBundledLabImage('/srv/canarytrap/cache/lab-images', config), false);
});
