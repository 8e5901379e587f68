import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  avdConfigIni,
  avdPointerIni,
  cpuArchFor,
  DEFAULT_AVD_HARDWARE,
  sysdirEntry,
} from '../../src/device/sdk-emulator/avd.ts';
import {
  dnsServerArgument,
  emulatorArgs,
  emulatorEnv,
} from '../../src/device/sdk-emulator/command-line.ts';
import { caInstallRemountsSystem } from '../../src/device/prepare.ts';
import { isCanarytrapError } from '../../src/errors.ts';

const network = {
  mode: 'proxy' as const,
  dnsServer: { host: '127.0.0.53', port: 53 },
  httpProxy: { host: '127.0.0.1', port: 40123 },
};

test('the emulator command line is headless, read-only, on the leased ports and the run network', () => {
  assert.deepEqual(
    emulatorArgs({
      avdName: 'canarytrap_5560_0a1b2c3d',
      imageDir: '/data/images/abc/image',
      consolePort: 5560,
      adbPort: 5561,
      network,
      writableSystem: false,
      pcapPath: '/data/runs/r1/emulator.pcap',
      phoneNumber: '15555550123',
      acceleration: 'auto',
    }),
    [
      '-avd',
      'canarytrap_5560_0a1b2c3d',
      '-sysdir',
      '/data/images/abc/image',
      '-no-window',
      '-no-audio',
      '-no-boot-anim',
      '-no-snapshot',
      '-read-only',
      '-ports',
      '5560,5561',
      '-http-proxy',
      'http://127.0.0.1:40123',
      '-dns-server',
      '127.0.0.53',
      '-tcpdump',
      '/data/runs/r1/emulator.pcap',
      '-phone-number',
      '15555550123',
      '-gpu',
      'swiftshader_indirect',
      '-accel',
      'auto',
    ],
  );
});

test('without a phone number the flag is left out, and software acceleration is passed as -accel off', () => {
  const args = emulatorArgs({
    avdName: 'a',
    imageDir: '/i',
    consolePort: 5554,
    adbPort: 5555,
    network,
    writableSystem: false,
    pcapPath: '/p.pcap',
    acceleration: 'off',
  });
  assert.equal(args.includes('-phone-number'), false);
  assert.deepEqual(args.slice(-2), ['-accel', 'off']);
});

test('in a cage the emulator gets no proxy, the gateway as its DNS server, and a writable system where the CA install remounts it', () => {
  const args = emulatorArgs({
    avdName: 'canarytrap_5560_0a1b2c3d',
    imageDir: '/data/images/abc/image',
    consolePort: 5560,
    adbPort: 5561,
    network: { mode: 'caged', dnsServer: { host: '198.19.0.1', port: 53 } },
    writableSystem: true,
    pcapPath: '/data/runs/r1/emulator.pcap',
    acceleration: 'auto',
  });
  assert.deepEqual(args.slice(8, 15), [
    '-read-only',
    '-ports',
    '5560,5561',
    '-writable-system',
    '-dns-server',
    '198.19.0.1',
    '-tcpdump',
  ]);
  assert.equal(args.includes('-http-proxy'), false);
});

test('the CA install remounts /system up to API 28 only', () => {
  assert.deepEqual(
    [23, 28, 29, 34].map((api) => caInstallRemountsSystem(api)),
    [true, true, false, false],
  );
});

test('a DNS sinkhole off port 53 or not on an IPv4 address is refused with what to change', () => {
  assert.equal(dnsServerArgument({ host: '127.0.0.1', port: 53 }), '127.0.0.1');
  assert.throws(
    () => dnsServerArgument({ host: '127.0.0.1', port: 5353 }),
    (error: unknown) =>
      isCanarytrapError(error) &&
      error.code === 'emulator-dns-port' &&
      error.message.includes('127.0.0.1:5353') &&
      /loopback alias/.test(error.hint ?? ''),
  );
  assert.throws(
    () => dnsServerArgument({ host: '::1', port: 53 }),
    (error: unknown) => isCanarytrapError(error) && error.code === 'emulator-dns-address',
  );
});

test('the emulator environment points at our SDK, our AVD home and our adb server', () => {
  assert.deepEqual(emulatorEnv({ androidHome: '/sdk', avdHome: '/tmp/avd', adbServerPort: 5099 }), {
    ANDROID_HOME: '/sdk',
    ANDROID_SDK_ROOT: '/sdk',
    ANDROID_AVD_HOME: '/tmp/avd',
    ANDROID_ADB_SERVER_PORT: '5099',
  });
});

test('config.ini names the image, its ABI and a small headless machine', () => {
  const text = avdConfigIni({
    name: 'canarytrap_5554_00000000',
    image: { abi: 'x86_64', apiLevel: 34, kernel: 'kernel-ranchu' },
    sysdir: 'system-images/android-34/google_apis/x86_64/',
    hardware: DEFAULT_AVD_HARDWARE,
  });
  assert.equal(
    text,
    [
      'AvdId=canarytrap_5554_00000000',
      'avd.ini.displayname=canarytrap_5554_00000000',
      'avd.ini.encoding=UTF-8',
      'abi.type=x86_64',
      'hw.cpu.arch=x86_64',
      'hw.cpu.ncore=2',
      'hw.ramSize=2048',
      'disk.dataPartition.size=2G',
      'hw.gpu.enabled=yes',
      'hw.gpu.mode=swiftshader_indirect',
      'hw.audioInput=no',
      'hw.audioOutput=no',
      'hw.camera.back=none',
      'hw.camera.front=none',
      'hw.gps=yes',
      'hw.battery=yes',
      'hw.keyboard=yes',
      'hw.sdCard=no',
      'hw.lcd.width=1080',
      'hw.lcd.height=1920',
      'hw.lcd.density=420',
      'fastboot.forceColdBoot=yes',
      'PlayStore.enabled=false',
      'tag.id=default',
      'image.sysdir.1=system-images/android-34/google_apis/x86_64/',
      '',
    ].join('\n'),
  );
});

test('the AVD pointer file and the image path are written as the SDK writes them', () => {
  assert.equal(
    avdPointerIni('/tmp/avd/x.avd', 29),
    'avd.ini.encoding=UTF-8\npath=/tmp/avd/x.avd\ntarget=android-29\n',
  );
  assert.equal(
    sysdirEntry('/sdk/system-images/android-34/default/x86_64', '/sdk'),
    'system-images/android-34/default/x86_64/',
  );
  assert.equal(sysdirEntry('/data/images/abc/image', '/sdk'), '/data/images/abc/image/');
  assert.equal(cpuArchFor('arm64-v8a'), 'arm64');
  assert.equal(cpuArchFor('armeabi-v7a'), 'arm');
  assert.equal(cpuArchFor('x86'), 'x86');
});
