import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:tls';
import { test } from 'node:test';
import { generateCACertificate, generateSPKIFingerprint, getLocal, type Mockttp } from 'mockttp';
import { labImageSchema, sendSchema, type LabImage } from '../../src/android/lab-image.ts';
import { findProblems } from '../../src/lab/behaviour/index.ts';
import { serverIdentityCheck, spkiSha256 } from '../../src/lab/behaviour/net/pin.ts';

const HOST = 'bigdata.adups.com';

/** An intercepting proxy as the run has one: mockttp with a fresh CA the device trusts. */
async function interceptor(): Promise<{ proxy: Mockttp; caPem: string; failures: string[] }> {
  const ca = await generateCACertificate({ subject: { commonName: 'canarytrap run pin-test' } });
  const proxy = getLocal({ https: { key: ca.key, cert: ca.cert } });
  await proxy.start();
  await proxy.forAnyRequest().thenReply(200, 'ok');
  const failures: string[] = [];
  await proxy.on('tls-client-error', (failure) => failures.push(failure.failureCause));
  return { proxy, caPem: ca.cert, failures };
}

/** A TLS handshake as the lab's https send makes it: the device store as `ca`, the pin on top. */
async function handshake(
  port: number,
  caPem: string,
  pin: Parameters<typeof serverIdentityCheck>[0],
): Promise<'connected' | Error> {
  const socket = connect({
    host: '127.0.0.1',
    port,
    servername: HOST,
    ca: [caPem],
    rejectUnauthorized: true,
    checkServerIdentity: serverIdentityCheck(pin),
  });
  try {
    await once(socket, 'secureConnect');
    // A request, as the app sends one: a session that carries data is no failure to the proxy.
    socket.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    await once(socket, 'data');
    return 'connected';
  } catch (error) {
    return error as Error;
  } finally {
    socket.destroy();
  }
}

test('a pinned send refuses the run CA the device trusts; the proxy sees the handshake fail', async (t) => {
  const { proxy, caPem, failures } = await interceptor();
  t.after(() => proxy.stop());
  const caDer = Buffer.from(caPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  // The pin format is OkHttp's: checked against mockttp's own SPKI fingerprint.
  assert.equal(spkiSha256(caDer), await generateSPKIFingerprint(caPem));

  // Unpinned, the device store is enough: the failures below are the pin's doing.
  assert.equal(await handshake(proxy.port, caPem, undefined), 'connected');
  const vendorKey = await handshake(proxy.port, caPem, true);
  assert.ok(vendorKey instanceof Error);
  assert.match(vendorKey.message, /certificate pinning failure for bigdata\.adups\.com/);
  assert.match(vendorKey.message, /the vendor's own key/);
  const otherKey = await handshake(proxy.port, caPem, { sha256: ['A'.repeat(43) + '='] });
  assert.ok(otherKey instanceof Error);
  assert.match(otherKey.message, /include none pinned \(sha256\/AAAA/);
  // A pin on a key the chain does hold lets the handshake through: the check is a real pin check.
  assert.equal(await handshake(proxy.port, caPem, { sha256: [spkiSha256(caDer)] }), 'connected');

  // What capture records for the refused handshakes: the opaque flows of a pinned app.
  const deadline = Date.now() + 5000;
  while (failures.length < 2 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  // A moment more, so a third failure (a connection that carried data) would be counted too.
  await new Promise((resolve) => setTimeout(resolve, 200));
  // Node's client drops the connection without an alert, which mockttp may see as a reset.
  assert.equal(failures.length, 2, failures.join(', '));
  for (const cause of failures)
    assert.ok(['cert-rejected', 'reset', 'closed'].includes(cause), cause);
});

test('pin: https only, digests in base64; the pinned adups image differs from adups-2016 by its pins', async () => {
  const https = { channel: 'https', host: HOST, path: '/u', carry: { as: 'body' } };
  assert.throws(() => sendSchema.parse({ ...https, pin: { sha256: ['abc'] } }), /SHA-256/);
  assert.throws(() => sendSchema.parse({ ...https, pin: false }));
  const plain = labImageSchema.parse({
    version: 1,
    name: 'pin-on-http',
    description: 'a pin on plain HTTP',
    build: {
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
    },
    apps: [
      {
        package: 'com.example.app',
        label: 'App',
        versionName: '1',
        versionCode: 1,
        path: '/system/app/App/App.apk',
        behaviours: [
          {
            id: 'up',
            description: 'pinned plain HTTP',
            trigger: { on: 'boot' },
            collect: ['imei'],
            send: { ...https, channel: 'http', pin: true },
          },
        ],
      },
    ],
  });
  assert.deepEqual(
    findProblems(plain).map((p) => p.problem),
    ['pin applies to https only: plain HTTP has no certificate to pin'],
  );

  const load = async (name: string): Promise<LabImage> =>
    labImageSchema.parse(
      JSON.parse(await readFile(new URL(`../../images/lab/${name}.json`, import.meta.url), 'utf8')),
    );
  const [original, pinned] = [await load('adups-2016'), await load('adups-2016-pinned')];
  assert.deepEqual(findProblems(pinned), []);
  const pins = pinned.apps.flatMap((app) =>
    app.behaviours.map((b) => [b.id, b.send.channel === 'https' ? b.send.pin : undefined]),
  );
  assert.deepEqual(pins, [
    ['bigdata-upload-after-boot', true],
    ['bigdata-upload-72h', true],
    ['update-check', undefined],
    ['command-poll', undefined],
  ]);
  // Everything else is adups-2016's.
  const unpinned = structuredClone(pinned);
  for (const app of unpinned.apps)
    for (const b of app.behaviours) if (b.send.channel === 'https') delete b.send.pin;
  assert.deepEqual(
    { ...unpinned, name: original.name, description: original.description },
    original,
  );
});
