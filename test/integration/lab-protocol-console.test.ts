import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { ensureConsoleAuthToken, startConsoleServer } from '../../src/lab/console/index.ts';
import type { ConsoleReply, LabConsole } from '../../src/lab/services.ts';

class RecordingConsole implements LabConsole {
  readonly received: string[] = [];
  kills = 0;
  async handle(commandLine: string): Promise<ConsoleReply> {
    this.received.push(commandLine);
    if (commandLine.startsWith('geo fix')) return { ok: true, output: '' };
    if (commandLine === 'gsm list')
      return { ok: true, output: 'inbound from 5550100 : incoming\noutbound to 5550101 : active' };
    return { ok: false, error: 'bad sub-command' };
  }
  async kill(): Promise<void> {
    this.kills++;
  }
}

/** Sends lines, then collects everything the console says until it closes the connection. */
function converse(port: number, lines: Array<string | Buffer>): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port }, () =>
      socket.write(
        Buffer.concat(lines.map((l) => Buffer.concat([Buffer.from(l), Buffer.from('\n')]))),
      ),
    );
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
    setTimeout(
      () => socket.destroy(new Error('console did not close the connection')),
      5000,
    ).unref();
  });
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lab-protocol-console-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

void test('the auth token file is created 0600 once and then reused; empty means no auth', async () => {
  const path = join(dir, '.emulator_console_auth_token');
  const token = await ensureConsoleAuthToken(path);
  assert.match(token, /^[A-Za-z0-9]{16}$/);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal(await readFile(path, 'utf8'), token);
  assert.equal(await ensureConsoleAuthToken(path), token);
  const empty = join(dir, 'empty-token');
  await writeFile(empty, '');
  assert.equal(await ensureConsoleAuthToken(empty), '');
});

void test('the console greets, authenticates and answers like the emulator', async () => {
  const labConsole = new RecordingConsole();
  const tokenPath = join(dir, 'token-a');
  const token = await ensureConsoleAuthToken(tokenPath);
  await using server = await startConsoleServer({
    port: 0,
    authToken: token,
    authTokenPath: tokenPath,
    console: labConsole,
    avdName: 'lab_avd',
    logger: silentLogger(),
  });
  const text = await converse(server.port, [
    'gsm list',
    'avd name',
    'auth wrong',
    `auth ${token}`,
    'gsm list',
    'geo fix -122.08 37.42',
    'gsm bogus',
    'ping',
    'quit',
    'avd name',
  ]);
  assert.equal(
    text,
    'Android Console: Authentication required\r\n' +
      "Android Console: type 'auth <auth_token>' to authenticate\r\n" +
      'Android Console: you can find your <auth_token> in \r\n' +
      `'${tokenPath}'\r\nOK\r\n` +
      "KO: unknown command, try 'help'\r\n" +
      'lab_avd\r\nOK\r\n' +
      'KO: authentication token does not match ~/.emulator_console_auth_token\r\n' +
      "Android Console: type 'help' for a list of commands\r\nOK\r\n" +
      'inbound from 5550100 : incoming\r\noutbound to 5550101 : active\r\nOK\r\n' +
      'OK\r\n' +
      'KO: bad sub-command\r\n' +
      'I am alive!\r\nOK\r\n',
  );
  assert.deepEqual(labConsole.received, ['gsm list', 'geo fix -122.08 37.42', 'gsm bogus']);
});

void test('kill replies, closes the connection and tells the OS model', async () => {
  const labConsole = new RecordingConsole();
  const server = await startConsoleServer({
    port: 0,
    authToken: 'sekrit',
    console: labConsole,
    avdName: 'lab_avd',
    logger: silentLogger(),
  });
  try {
    const text = await converse(server.port, ['auth sekrit', 'kill', 'ping']);
    assert.ok(text.endsWith('OK: killing emulator, bye bye\r\nOK\r\n'), text);
    assert.equal(labConsole.kills, 1);
    const binary = await converse(server.port, [Buffer.from([0xff, 0xfe, 0x41])]);
    assert.ok(binary.endsWith('KO: Forbidden binary request. Aborting\r\n'), binary);
    const http = await converse(server.port, ['GET / HTTP/1.1']);
    assert.ok(http.endsWith('KO: Forbidden HTTP request. Aborting\r\n'), http);
  } finally {
    await server.close();
    await server.close();
  }
});
