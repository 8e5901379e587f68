import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  A_CNXN,
  A_WRTE,
  AdbMessageDecoder,
  AdbProtocolError,
  HEADER_SIZE,
  commandName,
  dataChecksum,
  encodeMessage,
} from '../../src/lab/adb/message.ts';
import {
  ShellPacketDecoder,
  ShellPacketId,
  encodeExitPacket,
  encodeShellOutput,
} from '../../src/lab/adb/shell-protocol.ts';
import { ByteQueue } from '../../src/lab/adb/byte-queue.ts';
import { parseShellService } from '../../src/lab/adb/shell-service.ts';

void test('a message encodes to the documented little-endian header', () => {
  const data = Buffer.from('host::\0');
  const bytes = encodeMessage({ command: A_CNXN, arg0: 0x01000001, arg1: 4096, data });
  assert.equal(bytes.length, HEADER_SIZE + data.length);
  assert.equal(bytes.toString('latin1', 0, 4), 'CNXN');
  assert.equal(bytes.readUInt32LE(4), 0x01000001);
  assert.equal(bytes.readUInt32LE(8), 4096);
  assert.equal(bytes.readUInt32LE(12), data.length);
  assert.equal(
    bytes.readUInt32LE(16),
    [...data].reduce((a, b) => a + b, 0),
  );
  assert.equal(bytes.readUInt32LE(20), (bytes.readUInt32LE(0) ^ 0xffffffff) >>> 0);
});

void test('the checksum is the unsigned byte sum', () => {
  assert.equal(dataChecksum(Buffer.alloc(0)), 0);
  assert.equal(dataChecksum(Buffer.from([0xff, 0xff, 1])), 511);
});

void test('the decoder reassembles messages split at every byte boundary', () => {
  const messages = [
    { command: A_WRTE, arg0: 1, arg1: 2, data: randomBytes(1000) },
    { command: A_CNXN, arg0: 3, arg1: 4, data: Buffer.alloc(0) },
    { command: A_WRTE, arg0: 5, arg1: 6, data: randomBytes(17) },
  ];
  const wire = Buffer.concat(messages.map(encodeMessage));
  for (const step of [1, 7, 24, 25, 500, wire.length]) {
    const decoder = new AdbMessageDecoder();
    const decoded = [];
    for (let offset = 0; offset < wire.length; offset += step) {
      decoded.push(...decoder.push(wire.subarray(offset, offset + step)));
    }
    assert.deepEqual(decoded, messages, `step ${step}`);
    assert.equal(decoder.pendingBytes, 0);
  }
});

void test('the decoder rejects bad magic, unknown commands and oversized payloads', () => {
  const good = encodeMessage({ command: A_WRTE, arg0: 1, arg1: 1, data: Buffer.from('x') });
  const badMagic = Buffer.from(good);
  badMagic.writeUInt32LE(0, 20);
  assert.throws(() => new AdbMessageDecoder().push(badMagic), AdbProtocolError);

  const unknown = Buffer.from(good);
  unknown.write('XXXX', 0, 'latin1');
  unknown.writeUInt32LE((unknown.readUInt32LE(0) ^ 0xffffffff) >>> 0, 20);
  assert.throws(() => new AdbMessageDecoder().push(unknown), /unknown command XXXX/);

  const oversized = Buffer.from(good);
  oversized.writeUInt32LE(1024 * 1024, 12);
  assert.throws(() => new AdbMessageDecoder(256 * 1024).push(oversized), /exceeds/);
});

void test('command names print as text or hex', () => {
  assert.equal(commandName(A_WRTE), 'WRTE');
  assert.equal(commandName(0x01020304), '0x1020304');
});

void test('shell protocol output is split to fit the payload and decodes back', () => {
  const data = randomBytes(10_000);
  const packets = encodeShellOutput(ShellPacketId.stdout, data, 4096);
  assert.ok(packets.every((p) => p.length <= 4096));
  const decoder = new ShellPacketDecoder();
  const wire = Buffer.concat([...packets, encodeExitPacket(300)]);
  const decoded = [];
  for (let offset = 0; offset < wire.length; offset += 333) {
    decoded.push(...decoder.push(wire.subarray(offset, offset + 333)));
  }
  const stdout = Buffer.concat(
    decoded.filter((p) => p.id === ShellPacketId.stdout).map((p) => p.data),
  );
  assert.ok(stdout.equals(data));
  assert.deepEqual(decoded.at(-1), { id: ShellPacketId.exit, data: Buffer.from([300 & 0xff]) });
});

void test('shell service names parse into protocol, terminal and command', () => {
  assert.deepEqual(parseShellService('shell:ls -l'), {
    protocol: 'legacy',
    pty: false,
    command: 'ls -l',
  });
  assert.deepEqual(parseShellService('shell,v2,raw:echo a:b'), {
    protocol: 'shell-v2',
    pty: false,
    command: 'echo a:b',
  });
  assert.deepEqual(parseShellService('shell,v2,TERM=xterm,pty:'), {
    protocol: 'shell-v2',
    pty: true,
    command: '',
  });
  assert.deepEqual(parseShellService('shell:'), { protocol: 'legacy', pty: true, command: '' });
  assert.equal(parseShellService('shellx:ls'), undefined);
  assert.equal(parseShellService('exec:ls'), undefined);
});

void test('the byte queue reads exact sizes across chunks and reports a short end', async () => {
  const queue = new ByteQueue();
  const reading = queue.read(5);
  queue.push(Buffer.from('ab'));
  queue.push(Buffer.from('cdefg'));
  assert.equal((await reading)?.toString(), 'abcde');
  assert.equal((await queue.read(2))?.toString(), 'fg');
  queue.push(Buffer.from('h'));
  queue.end();
  assert.equal(await queue.read(2), undefined);
});
