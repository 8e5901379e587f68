import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { isCanarytrapError } from '../../src/errors.ts';
import { labImageSchema, type LabImage } from '../../src/android/lab-image.ts';
import { silentLogger } from '../../src/log.ts';
import {
  findProblems,
  startBehaviours,
  type BehaviourHost,
} from '../../src/lab/behaviour/index.ts';

const BUILD = {
  manufacturer: 'X',
  brand: 'x',
  model: 'X1',
  device: 'x1',
  product: 'x1',
  release: '6.0',
  sdk: 23,
  incremental: '1',
  securityPatch: '2016-09-05',
  abi: 'x86_64',
};

function image(behaviours: unknown[]): LabImage {
  return labImageSchema.parse({
    version: 1,
    name: 'validate',
    description: 'validation cases',
    build: BUILD,
    apps: [
      {
        package: 'com.example.bad',
        label: 'Bad',
        versionName: '1',
        versionCode: 1,
        path: '/system/app/Bad/Bad.apk',
        behaviours,
      },
    ],
  });
}

function https(
  id: string,
  encode: unknown[],
  carry: unknown,
  extra: Record<string, unknown> = {},
): unknown {
  return {
    id,
    description: id,
    trigger: { on: 'boot' },
    collect: ['imei'],
    encode,
    send: { channel: 'https', host: 'up.example.org', path: '/up', carry, ...extra },
  };
}

/** A host that fails the test if the engine touches it: validation must come before scheduling. */
function untouchableHost(): BehaviourHost {
  const fail = (): never => assert.fail('the host was used before the image was validated');
  return {
    now: fail,
    readSms: fail,
    readContacts: fail,
    readCallLog: fail,
    identity: fail,
    location: fail,
    properties: fail,
    setAlarm: fail,
    scheduleJob: fail,
    onSmsReceived: fail,
    setting: fail,
    onSettingChanged: fail,
    emit: fail,
    network: fail,
    trustedCaCertificates: fail,
    pidOf: fail,
  };
}

test('startBehaviours rejects an image whose behaviours cannot run, naming app and behaviour, before scheduling', () => {
  const bad = image([
    https('gzip-in-form', [{ op: 'gzip' }], { as: 'form', field: 'data' }),
    https(
      'aes-in-json',
      [{ op: 'aes', mode: 'cbc', keyHex: '00'.repeat(16), ivHex: '00'.repeat(16) }],
      { as: 'json', field: 'd' },
    ),
    https(
      'short-key',
      [
        { op: 'aes', mode: 'cbc', keyHex: '00'.repeat(10), ivHex: '00'.repeat(16) },
        { op: 'base64' },
      ],
      { as: 'body' },
    ),
    https('no-iv', [{ op: 'des', mode: 'cbc', keyHex: '00'.repeat(8) }], { as: 'body' }),
    https('ecb-iv', [{ op: 'aes', mode: 'ecb', keyHex: '00'.repeat(16), ivHex: '00'.repeat(16) }], {
      as: 'body',
    }),
    https('desede-16', [{ op: '3des', mode: 'ecb', keyHex: '00'.repeat(16) }], { as: 'body' }),
    https('query-encoded', [{ op: 'base64' }], { as: 'query' }),
    https('header-injection', [], { as: 'body' }, { headers: { 'X-A': 'b\r\nX-Evil: 1' } }),
    {
      id: 'dns-json',
      description: '',
      trigger: { on: 'boot' },
      collect: ['imei'],
      send: { channel: 'dns', zone: 't.example.org' },
    },
    https('twice', [], { as: 'body' }),
    https('twice', [], { as: 'body' }),
  ]);
  assert.throws(
    () => startBehaviours(bad, untouchableHost(), silentLogger()),
    (error: unknown) => {
      assert.ok(isCanarytrapError(error));
      assert.equal(error.code, 'lab-image-invalid');
      assert.equal(error.permanent, true);
      for (const id of [
        'gzip-in-form',
        'aes-in-json',
        'short-key',
        'no-iv',
        'ecb-iv',
        'desede-16',
        'query-encoded',
        'header-injection',
        'dns-json',
        'twice',
      ]) {
        assert.match(error.message, new RegExp(`com\\.example\\.bad / ${id}:`), `names ${id}`);
      }
      return true;
    },
  );
});

test('the problems say what to change', () => {
  const problems = findProblems(
    image([
      https('gzip-in-form', [{ op: 'gzip' }], { as: 'form', field: 'data' }),
      https(
        'short-key',
        [
          { op: 'aes', mode: 'cbc', keyHex: '00'.repeat(10), ivHex: '00'.repeat(16) },
          { op: 'base64' },
        ],
        { as: 'body' },
      ),
    ]),
  );
  assert.deepEqual(problems, [
    {
      package: 'com.example.bad',
      behaviour: 'gzip-in-form',
      problem: 'carry "form" needs a text payload: end the encode steps with base64 or hex',
    },
    {
      package: 'com.example.bad',
      behaviour: 'short-key',
      problem: 'encode step 1 (aes): an AES key is 16, 24 or 32 bytes, this one is 10',
    },
  ]);
});

test('the bypass channels name what cannot run: a literal where one is needed, ports, sizes', () => {
  const behaviour = (id: string, send: unknown, extra: Record<string, unknown> = {}) => ({
    id,
    description: id,
    trigger: { on: 'boot' },
    collect: ['imei'],
    encode: [{ op: 'hex' }],
    send,
    ...extra,
  });
  const problems = findProblems(
    image([
      behaviour(
        'ping-name',
        { channel: 'icmp', host: 'ping.example.org' },
        { serialize: 'values' },
      ),
      behaviour('ping-json', { channel: 'icmp', host: '203.0.113.70' }),
      behaviour('resolver-name', { channel: 'dns', zone: 't.example.org', resolver: 'dns.google' }),
      behaviour('udp-port', { channel: 'udp', host: '203.0.113.60', port: 70000 }),
      behaviour(
        'doh-raw',
        { channel: 'doh', host: '198.51.100.53', zone: 'd.example.org' },
        {
          encode: [],
        },
      ),
      behaviour('fine', { channel: 'doh', host: '198.51.100.53', zone: 'd.example.org' }),
    ]),
  ).map((p) => [p.behaviour, p.problem]);
  assert.deepEqual(problems, [
    ['ping-name', 'send.host "ping.example.org" is not an IPv4 address'],
    [
      'ping-json',
      'the icmp channel carries at most 16 bytes: collect one short item with serialize "values"',
    ],
    ['resolver-name', 'send.resolver "dns.google" is not an IPv4 address'],
    ['udp-port', 'send.port 70000 is not a port'],
    [
      'doh-raw',
      'the doh channel needs DNS-safe text: end the encode steps with hex or URL-safe base64',
    ],
  ]);
});

test('setting gates and setting triggers name what cannot work', () => {
  const gated = (id: string, trigger: unknown, when?: unknown): unknown => ({
    ...(https(id, [{ op: 'base64' }], { as: 'form', field: 'data' }) as object),
    trigger,
    ...(when === undefined ? {} : { when: { setting: when } }),
  });
  const problems = findProblems(
    image([
      gated('spaced-key', { on: 'boot' }, { namespace: 'secure', key: 'my flag', equals: '1' }),
      gated('two-lines', { on: 'setting', namespace: 'global', key: 'x', equals: '1\n2' }),
      gated(
        'never',
        { on: 'setting', namespace: 'secure', key: 'consent', equals: '1' },
        { namespace: 'secure', key: 'consent', equals: '0' },
      ),
      gated(
        'fine',
        { on: 'setting', namespace: 'secure', key: 'consent', equals: '1' },
        { namespace: 'secure', key: 'consent', equals: '1' },
      ),
      https('extra-field-clash', [{ op: 'base64' }], {
        as: 'form',
        field: 'data',
        fields: { gzip: '1', data: 'x' },
      }),
    ]),
  );
  assert.deepEqual(
    problems.map((p) => [p.behaviour, p.problem]),
    [
      [
        'spaced-key',
        'when.setting.key "my flag" is not a settings key (letters, digits, _ . - only)',
      ],
      ['two-lines', 'trigger.equals has a line break: settings values are one line'],
      [
        'never',
        'the trigger waits for consent = "1" but when.setting requires "0": it would never send',
      ],
      ['extra-field-clash', 'carry.fields repeats the payload field "data"'],
    ],
  );
  assert.throws(
    () =>
      labImageSchema.parse({
        ...image([]),
        apps: [
          {
            ...image([]).apps[0],
            behaviours: [
              gated('bad-namespace', { on: 'setting', namespace: 'vendor', key: 'k', equals: '1' }),
            ],
          },
        ],
      }),
    /namespace/,
    'the schema knows the three settings tables',
  );
});

test('the shipped lab images are runnable', async () => {
  for (const name of ['adups-2016', 'adups-2016-fixed', 'clean', 'xiaomi-2021']) {
    const parsed = labImageSchema.parse(
      JSON.parse(await readFile(new URL(`../../images/lab/${name}.json`, import.meta.url), 'utf8')),
    );
    assert.deepEqual(findProblems(parsed), [], name);
  }
});
