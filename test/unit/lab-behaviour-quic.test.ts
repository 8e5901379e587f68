import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  clientInitialKeys,
  MIN_INITIAL_DATAGRAM,
  quicInitial,
  varint,
} from '../../src/lab/behaviour/net/quic-initial.ts';
import { dnsAnswerCount, dnsQuery } from '../../src/lab/behaviour/net/dns-message.ts';

test('Initial keys match the RFC 9001 appendix A vectors', () => {
  const keys = clientInitialKeys(Buffer.from('8394c8f03e515708', 'hex'));
  assert.equal(keys.key.toString('hex'), '1f369613dd76d5467730efcbe3b1a22d');
  assert.equal(keys.iv.toString('hex'), 'fa044b2f42a3fd3b46fb255c');
  assert.equal(keys.hp.toString('hex'), '9f50449e04a0e810283a1e9933adedd2');
});

test('variable-length integers use the RFC 9000 encodings', () => {
  assert.equal(varint(37).toString('hex'), '25');
  assert.equal(varint(15293).toString('hex'), '7bbd');
  assert.equal(varint(494878333).toString('hex'), '9d7f3e7d');
});

/** One UDP datagram from 198.18.0.2 to 198.51.100.9:443 as a raw-IPv4 pcap (link type 101). */
function pcapOf(datagram: Buffer): Buffer {
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16);
  global.writeUInt32LE(101, 20);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(40000, 0);
  udp.writeUInt16BE(443, 2);
  udp.writeUInt16BE(8 + datagram.length, 4);
  const ip = Buffer.from([
    0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 198, 18, 0, 2, 198, 51, 100, 9,
  ]);
  ip.writeUInt16BE(20 + 8 + datagram.length, 2);
  const packet = Buffer.concat([ip, udp, datagram]);
  const record = Buffer.alloc(16);
  record.writeUInt32LE(1_700_000_000, 0);
  record.writeUInt32LE(packet.length, 8);
  record.writeUInt32LE(packet.length, 12);
  return Buffer.concat([global, record, packet]);
}

test('the QUIC attempt is a client Initial that Wireshark decrypts to a ClientHello naming the host', async (t) => {
  const probe = await execa('tshark', ['-v'], { reject: false, timeout: 30_000 });
  if (probe.exitCode !== 0)
    return t.skip('tshark (Wireshark) is not installed: apt-get install tshark');
  const datagram = quicInitial('sync.kestrel-cloud.example');
  assert.equal(datagram.length, MIN_INITIAL_DATAGRAM);
  const dir = await mkdtemp(join(tmpdir(), 'quic-initial-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'initial.pcap');
  await writeFile(file, pcapOf(datagram));
  const { stdout } = await execa(
    'tshark',
    [
      '-r',
      file,
      '-d',
      'udp.port==443,quic',
      '-T',
      'fields',
      '-E',
      'separator=|',
      '-e',
      'quic.version',
      '-e',
      'quic.long.packet_type',
      '-e',
      'tls.handshake.type',
      '-e',
      'tls.handshake.extensions_server_name',
      '-e',
      'tls.handshake.extensions_alpn_str',
    ],
    { timeout: 60_000, env: { HOME: dir } },
  );
  const [version, packetType, handshakeType, serverName, alpn] = stdout.trim().split('|');
  assert.equal(Number(version), 1);
  assert.equal(packetType, '0', 'an Initial packet');
  assert.equal(handshakeType, '1', 'decrypted with the public Initial keys: a ClientHello');
  assert.equal(serverName, 'sync.kestrel-cloud.example');
  assert.equal(alpn, 'h3');
});

test('DNS queries are one A question with recursion desired, and replies are matched by id', () => {
  const query = dnsQuery('3335.0.t.example.', 0x1234);
  assert.equal(
    query.toString('hex'),
    '123401000001000000000000' +
      '0433333335' +
      '0130' +
      '0174' +
      '076578616d706c65' +
      '00' +
      '00010001',
  );
  const reply = Buffer.from(query);
  reply.writeUInt16BE(0x8180, 2);
  reply.writeUInt16BE(1, 6);
  assert.equal(dnsAnswerCount(reply, 0x1234), 1);
  assert.equal(dnsAnswerCount(reply, 0x4321), undefined, 'another id');
  assert.equal(dnsAnswerCount(query, 0x1234), undefined, 'not a response');
});
