import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildFacts, parseBuildProp } from '../../src/intake/build-props.ts';
import { dexStrings, destinationsIn, findUrls } from '../../src/intake/inventory/dex-strings.ts';
import { manifestInfo, parseXmlTree } from '../../src/android/manifest.ts';
import { permissionProtection } from '../../src/intake/inventory/permissions.ts';
import { buildPropText } from '../../src/image-build/lab-images/lab-props.ts';
import { buildFingerprint, labImageSchema } from '../../src/android/lab-image.ts';
import { readFileSync } from 'node:fs';

test('build.prop written for a lab image reads back into the same facts', () => {
  const image = labImageSchema.parse(
    JSON.parse(readFileSync('images/lab/adups-2016.json', 'utf8')),
  );
  const facts = buildFacts(parseBuildProp(buildPropText(image)));
  assert.equal(facts.fingerprint, buildFingerprint(image.build));
  assert.equal(facts.apiLevel, image.build.sdk);
  assert.equal(facts.model, image.build.model);
  assert.equal(facts.lineage, `${image.build.manufacturer}/${image.build.model}`.toLowerCase());
  assert.equal(facts.abis[0], image.build.abi);
});

test('system-as-root keys (ro.product.system.*) are used when ro.product.* is absent', () => {
  const props = parseBuildProp(
    '# comment\nro.product.system.manufacturer=Acme\nro.product.system.model=Rocket 2\nro.system.build.version.sdk=30\nro.product.cpu.abi=arm64-v8a\nbroken line\n=novalue\n',
  );
  const facts = buildFacts(props);
  assert.equal(facts.manufacturer, 'Acme');
  assert.equal(facts.apiLevel, 30);
  assert.deepEqual(facts.abis, ['arm64-v8a']);
  assert.equal(facts.lineage, 'acme/rocket 2');
  assert.equal(facts.fingerprint, undefined);
});

// The shape of `aapt dump xmltree <apk> AndroidManifest.xml` (aapt 0.2 as Debian ships it).
const XMLTREE = `N: android=http://schemas.android.com/apk/res/android
  E: manifest (line=2)
    A: android:sharedUserId(0x0101000b)="android.uid.system" (Raw: "android.uid.system")
    A: android:versionCode(0x0101021b)=(type 0x10)0x33
    A: android:versionName(0x0101021c)="5.1" (Raw: "5.1")
    A: package="com.example.fota" (Raw: "com.example.fota")
    E: uses-permission (line=4)
      A: android:name(0x01010003)="android.permission.READ_SMS" (Raw: "android.permission.READ_SMS")
    E: application (line=6)
      A: android:label(0x01010001)="Update" (Raw: "Update")
      E: receiver (line=7)
        A: android:name(0x01010003)=".Boot" (Raw: ".Boot")
        E: intent-filter (line=8)
          E: action (line=8)
            A: android:name(0x01010003)="android.intent.action.BOOT_COMPLETED" (Raw: "android.intent.action.BOOT_COMPLETED")
      E: service (line=9)
        A: android:name(0x01010003)="com.example.fota.Hidden" (Raw: "com.example.fota.Hidden")
        A: android:exported(0x01010010)=(type 0x12)0x0
`;

test('the xmltree dump parses into manifest facts', () => {
  const info = manifestInfo(parseXmlTree(XMLTREE));
  assert.equal(info.package, 'com.example.fota');
  assert.equal(info.versionCode, 0x33);
  assert.equal(info.sharedUserId, 'android.uid.system');
  assert.equal(info.label, 'Update');
  assert.deepEqual(info.permissions, ['android.permission.READ_SMS']);
  assert.deepEqual(info.components, [
    {
      kind: 'receiver',
      name: 'com.example.fota.Boot',
      exported: true,
      actions: ['android.intent.action.BOOT_COMPLETED'],
    },
    { kind: 'service', name: 'com.example.fota.Hidden', exported: false, actions: [] },
  ]);
});

test('URLs are found in strings and native bytes; a non-dex is not parsed as one', () => {
  assert.deepEqual(
    findUrls('x"https://bigdata.adups.com/bigdata/upload"y http://10.0.0.1:8080/a, ftp://no'),
    ['https://bigdata.adups.com/bigdata/upload', 'http://10.0.0.1:8080/a'],
  );
  assert.equal(
    dexStrings(Buffer.from('not a dex file at all, long enough to have a header'.repeat(4))),
    undefined,
  );
  const found = destinationsIn(
    [Buffer.from('garbage https://a.example.org/x')],
    [Buffer.from('\0\0http://b.example.org\0')],
  );
  assert.deepEqual(found.hosts, ['a.example.org', 'b.example.org']);
});

test('permissions are classed as the platform protects them', () => {
  assert.equal(permissionProtection('android.permission.READ_SMS'), 'dangerous');
  assert.equal(permissionProtection('android.permission.INSTALL_PACKAGES'), 'privileged');
  assert.equal(permissionProtection('android.permission.INTERNET'), 'normal');
});
