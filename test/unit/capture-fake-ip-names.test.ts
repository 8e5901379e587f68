import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeIpNames } from '../../src/capture/index.ts';

void test('names get 198.18.0.1, .2, … in order of first sight, the same name the same address', () => {
  const names = new FakeIpNames();
  assert.equal(names.addressFor('bigdata.adups.com'), '198.18.0.1');
  assert.equal(names.addressFor('rebootv5.adsunflower.com'), '198.18.0.2');
  assert.equal(names.addressFor('BigData.Adups.com.'), '198.18.0.1', 'case and root dot ignored');
  assert.equal(names.nameFor('198.18.0.2'), 'rebootv5.adsunflower.com');
  assert.equal(names.nameFor('::ffff:198.18.0.1'), 'bigdata.adups.com');
  assert.equal(names.nameFor('198.18.0.3'), undefined, 'an address not handed out names nothing');
  assert.equal(names.nameFor('192.0.2.1'), undefined);
});

void test('two runs keep separate books', () => {
  const a = new FakeIpNames();
  const b = new FakeIpNames();
  a.addressFor('one.example.org');
  assert.equal(b.addressFor('two.example.org'), '198.18.0.1');
  assert.equal(a.nameFor('198.18.0.1'), 'one.example.org');
  assert.equal(b.nameFor('198.18.0.1'), 'two.example.org');
});

void test('the range runs across octets to 198.18.255.254, then answers run out', () => {
  const names = new FakeIpNames();
  const given: Array<string | undefined> = [];
  for (let i = 1; i <= 65_534; i++) given.push(names.addressFor(`n${i}.example.org`));
  assert.equal(given[254], '198.18.0.255');
  assert.equal(given[255], '198.18.1.0');
  assert.equal(given.at(-1), '198.18.255.254');
  assert.equal(new Set(given).size, 65_534);
  assert.equal(names.addressFor('one-too-many.example.org'), undefined);
  assert.equal(names.addressFor('n7.example.org'), '198.18.0.7', 'known names keep their address');
});
