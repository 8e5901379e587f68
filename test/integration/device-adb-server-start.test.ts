import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execa } from 'execa';
import { AdbClient } from '../../src/device/adb-client.ts';
import { freePort } from '../../src/host/ports.ts';
import { canBind } from '../support/leftovers.ts';

// Several phones launched at once each ask for the adb server. Against a stopped server the real
// adb client races itself ("Address already in use", "didn't ACK", exit 255), whether the other
// starter is this process or another worker on the host; a launch must not fail for that.
test('adb server starts racing each other and another process all succeed', async () => {
  const port = await freePort();
  const adb = new AdbClient({ serverPort: port });
  try {
    for (let round = 0; round < 3; round++) {
      await adb.killServer();
      const otherProcess = Array.from({ length: 3 }, () =>
        execa('adb', ['start-server'], {
          env: { ANDROID_ADB_SERVER_PORT: String(port) },
          reject: false,
        }),
      );
      const ours = Array.from({ length: 4 }, () => adb.startServer());
      await Promise.all([...otherProcess, ...ours]);
      // The server answers (it may list lab phones of other tests: adb scans the emulator ports).
      assert.ok((await adb.devices()) instanceof Map);
      assert.equal(await canBind(port), false, 'the adb server holds its port');
    }
  } finally {
    await adb.killServer();
  }
});
