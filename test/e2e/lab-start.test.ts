import assert from 'node:assert/strict';
import { execa } from 'execa';
import { after, before, test } from 'node:test';
import { freePort } from '../../src/host/ports.ts';
import { canBind } from '../support/leftovers.ts';
import { startPipelineEnv, type PipelineEnv } from '../support/pipeline-env.ts';

let world: PipelineEnv;

before(async () => {
  world = await startPipelineEnv();
});

after(async () => {
  await world?.close();
});

/** An even console port whose adb port (n+1) is free too, away from the 5554+ range others lease. */
async function evenPortPair(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const even = port % 2 === 0 ? port : port + 1;
    if (even + 1 < 65535) return even;
  }
}

test(
  'canarytrap lab start: real adb lists the phone and reads back an SMS planted through adb emu',
  { timeout: 90_000 },
  async () => {
    const consolePort = await evenPortPair();
    const serial = `emulator-${consolePort}`;
    const phone = execa(
      process.execPath,
      ['bin/canarytrap.js', 'lab', 'start', 'adups-2016', '--console-port', String(consolePort)],
      {
        env: world.env,
        reject: false,
      },
    );
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        let text = '';
        const timer = setTimeout(() => reject(new Error(`no banner within 60 s: ${text}`)), 60_000);
        phone.stdout?.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('Ctrl-C stops')) {
            clearTimeout(timer);
            resolve(text);
          }
        });
        void phone.then((r) => reject(new Error(`lab start exited ${r.exitCode}: ${r.stderr}`)));
      });
      assert.match(banner, new RegExp(`${serial} running adups-2016`));
      const adb = (args: string[]) =>
        execa('adb', args, { env: world.env, timeout: 20_000, stdin: 'ignore' });
      const devices = await adb(['devices']);
      assert.match(devices.stdout, new RegExp(`^${serial}\\s+device$`, 'm'));
      await adb(['-s', serial, 'emu', 'sms', 'send', '5550123', 'hello-from-the-console']);
      const inbox = await adb([
        '-s',
        serial,
        'shell',
        'content',
        'query',
        '--uri',
        'content://sms/inbox',
      ]);
      assert.match(inbox.stdout, /address=5550123, .*body=hello-from-the-console/);
    } finally {
      phone.kill('SIGINT');
      const result = await phone;
      assert.equal(result.exitCode, 0, result.stderr);
    }
    // The command stops its phone before it exits: once it exited, its ports must be free again.
    assert.equal(await canBind(consolePort), true, 'console port still held');
    assert.equal(await canBind(consolePort + 1), true, 'adb port still held');
  },
);
