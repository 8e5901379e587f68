import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../src/log.ts';
import { DnsSinkhole } from '../../src/capture/dns-sinkhole.ts';
import { FakeIpNames } from '../../src/capture/fake-ip-names.ts';

function collectingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, stream), lines };
}

async function startSinkhole(t: { after(fn: () => Promise<void>): void }) {
  const { logger, lines } = collectingLogger();
  const sinkhole = await DnsSinkhole.start({
    host: '127.0.0.1',
    logger,
    names: new FakeIpNames(),
  });
  t.after(() => sinkhole.stop());
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${sinkhole.address.port}`]);
  return { sinkhole, resolver, lines };
}

void test('A answers are fake IPs from 198.18.0.1 on, stable per name, distinct, and named back', async (t) => {
  const { sinkhole, resolver } = await startSinkhole(t);
  const first = await resolver.resolve4('bigdata.adups.com');
  const again = await resolver.resolve4('BigData.Adups.com');
  const other = await resolver.resolve4('rebootv5.adsunflower.com');
  assert.equal(first.length, 1);
  assert.deepEqual(again, first);
  assert.notDeepEqual(other, first);
  assert.deepEqual([...first, ...other], ['198.18.0.1', '198.18.0.2']);
  assert.equal(sinkhole.hostForIp(first[0] ?? ''), 'bigdata.adups.com');
  assert.equal(sinkhole.hostForIp(`::ffff:${other[0] ?? ''}`), 'rebootv5.adsunflower.com');
  assert.equal(sinkhole.hostForIp('127.0.0.1'), undefined);
  assert.equal(
    sinkhole.hostForIp('198.18.0.3'),
    undefined,
    'an address not handed out names nothing',
  );
  const recorded = sinkhole.queries();
  assert.deepEqual(
    recorded.map((q) => [q.name, q.type, q.answer]),
    [
      ['bigdata.adups.com', 'A', first[0]],
      ['bigdata.adups.com', 'A', first[0]],
      ['rebootv5.adsunflower.com', 'A', other[0]],
    ],
  );
  assert.ok(recorded.every((q) => q.client?.ip === '127.0.0.1' && typeof q.t === 'number'));
  assert.ok(
    recorded.every((q) => q.resolver === undefined),
    'uncaged, the device asked the sinkhole itself',
  );
});

void test('AAAA and other types get an empty NOERROR answer', async (t) => {
  const { sinkhole, resolver } = await startSinkhole(t);
  await assert.rejects(resolver.resolve6('bigdata.adups.com'), { code: 'ENODATA' });
  await assert.rejects(resolver.resolveTxt('x.example.org'), { code: 'ENODATA' });
  assert.deepEqual(
    sinkhole.queries().map((q) => [q.type, q.answer]),
    [
      ['AAAA', null],
      ['TXT', null],
    ],
  );
});

void test('a malformed packet is dropped with a log line and the sinkhole keeps answering', async (t) => {
  const { sinkhole, resolver, lines } = await startSinkhole(t);
  const udp = createSocket('udp4');
  t.after(() => new Promise<void>((resolve) => udp.close(() => resolve())));
  const garbage = [
    Buffer.from([0x01, 0x02, 0x03]),
    Buffer.from('ffff0100000100000000000003', 'hex'),
  ];
  for (const packet of garbage) {
    await new Promise<void>((resolve, reject) =>
      udp.send(packet, sinkhole.address.port, '127.0.0.1', (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  }
  const answer = await resolver.resolve4('still.alive.example.org');
  assert.equal(answer.length, 1);
  const drops = lines.filter((line) => line.includes('dropped malformed dns packet'));
  assert.equal(drops.length, garbage.length);
  assert.deepEqual(
    sinkhole.queries().map((q) => q.name),
    ['still.alive.example.org'],
  );
});

void test('stop is idempotent and releases the port', async (t) => {
  const { sinkhole } = await startSinkhole(t);
  await sinkhole.stop();
  await sinkhole.stop();
  const udp = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(sinkhole.address.port, '127.0.0.1', resolve);
  });
  await new Promise<void>((resolve) => udp.close(() => resolve()));
});
