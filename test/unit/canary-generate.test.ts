import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateCanaries, luhnCheckDigit } from '../../src/canary/generate.ts';
import { CANARY_KINDS, canarySetSchema } from '../../src/canary/types.ts';

test('a canary set holds every kind, valid against the schema, with safe synthetic values', () => {
  const { set, plan } = generateCanaries({ runId: 'r1' });
  assert.ok(canarySetSchema.safeParse(set).success);
  const kinds = new Set(set.canaries.map((c) => c.kind));
  assert.deepEqual([...kinds].sort(), [...CANARY_KINDS].sort());
  const imei = plan.identity.imei;
  assert.equal(imei.length, 15);
  assert.equal(luhnCheckDigit(imei.slice(0, 14)), imei[14]);
  assert.match(plan.identity.imsi, /^00101\d{10}$/);
  assert.equal(luhnCheckDigit(plan.identity.iccid.slice(0, -1)), plan.identity.iccid.at(-1));
  for (const c of set.canaries.filter((x) => x.kind === 'phone_number' || x.kind === 'call_number'))
    assert.match(c.value, /^\+1[2-9]\d\d55501\d\d$/);
  for (const c of set.canaries.filter((x) => x.kind === 'email' || x.kind === 'account'))
    assert.match(c.value, /@example\.org$/);
  // Locally administered unicast MAC: bit 1 of the first octet set, bit 0 clear.
  const firstOctet = parseInt(plan.identity.wifiMac.slice(0, 2), 16);
  assert.equal(firstOctet & 0b11, 0b10);
  assert.equal(new Set(set.canaries.map((c) => c.id)).size, set.canaries.length);
});

// The fictional NANP range (555-0100…0199 in 800 area codes) holds only 80,000 numbers, so two
// runs can draw the same one by chance; every other kind carries 24+ random bits.
const NUMBER_KINDS = new Set(['phone_number', 'call_number']);

const nonNumbers = (runId: string) =>
  generateCanaries({ runId })
    .set.canaries.filter((c) => !NUMBER_KINDS.has(c.kind))
    .map((c) => c.value);

test('two runs share no canary value outside the small fictional phone-number range', () => {
  for (let round = 0; round < 50; round++) {
    const a = new Set(nonNumbers('a'));
    assert.deepEqual(
      nonNumbers('b').filter((v) => a.has(v)),
      [],
    );
  }
});

test('phone numbers are distinct within one run', () => {
  const numbers = generateCanaries({ runId: 'a', perProvider: 20 })
    .set.canaries.filter((c) => NUMBER_KINDS.has(c.kind))
    .map((c) => c.value);
  assert.equal(new Set(numbers).size, numbers.length);
});

test('luhn check digits match known values', () => {
  assert.equal(luhnCheckDigit('49015420323751'), '8');
  assert.equal(luhnCheckDigit('7992739871'), '3');
});
