import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execa } from 'execa';
import { AdbClient } from '../../src/device/adb-client.ts';
import { freePort } from '../../src/queue/redis-server.ts';

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
      assert.equal((await adb.devices()).size, 0, 'one private adb server, listing no devices');
    }
  } finally {
    await adb.killServer();
  }
});
