import assert from 'node:assert/strict';
import { execa } from 'execa';
import { after, before, test } from 'node:test';
import { freePort } from '../../src/host/ports.ts';
import {
  canBind,
  cagePartsAt,
  cagePartsRemaining,
  findLabPhoneProcesses,
  type CageParts,
} from '../support/leftovers.ts';
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
  'canarytrap lab start: the phone runs caged; real adb lists it and reads back an SMS planted through adb emu',
  { timeout: 90_000 },
  async () => {
    const consolePort = await evenPortPair();
    const serial = `emulator-${consolePort}`;
    let cage: CageParts | undefined;
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
      // This host can make cages (the tests run as root with ip and nft): the phone is in one.
      const caged = /caged in canarytrap-(\d+) /.exec(banner);
      assert.ok(caged, `the phone is not caged: ${banner}`);
      const netns = `canarytrap-${caged[1]}`;
      cage = await cagePartsAt(Number(caged[1]));
      assert.ok(cage.netns && cage.link && cage.table, `${netns} is incomplete`);
      const [labPhone] = await findLabPhoneProcesses(new Set([consolePort]));
      assert.ok(labPhone, `no lab phone process on console port ${consolePort}`);
      const identified = await execa('ip', ['netns', 'identify', String(labPhone.pid)]);
      assert.equal(identified.stdout.trim(), netns, 'the phone process runs in the cage');
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
    // And its cage is gone.
    if (cage) assert.deepEqual(await cagePartsRemaining(cage), [], 'the cage outlived lab start');
  },
);
