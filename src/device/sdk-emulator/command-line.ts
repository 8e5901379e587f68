import { isIPv4 } from 'node:net';
import { CanarytrapError } from '../../errors.ts';
import type { NetworkSettings } from '../device.ts';
import type { DeviceNetwork } from '../network-wiring.ts';

export interface EmulatorCommandInput {
  avdName: string;
  /** The system-image directory (`-sysdir`), so images outside the SDK tree boot too. */
  imageDir: string;
  consolePort: number;
  adbPort: number;
  /** In a cage only its DNS server (the gateway); uncaged the run's DNS sinkhole and proxy. */
  network: DeviceNetwork;
  /**
   * `-writable-system`: the image's CA install remounts /system read-write (API 28 and older,
   * see prepare.ts), which the emulator allows only with this flag.
   */
  writableSystem: boolean;
  /** Where the emulator writes every guest packet (`-tcpdump`). */
  pcapPath: string;
  phoneNumber?: string;
  /** `auto` uses KVM; `off` is pure software emulation (ARM hosts without KVM). */
  acceleration: 'auto' | 'off';
}

/**
 * The emulator's `-dns-server` takes addresses only and always queries port 53, so the run's
 * sinkhole must listen on port 53 of some address the emulator can reach: in a cage the
 * gateway; uncaged, a loopback alias of its own (127.0.0.x:53) per run.
 */
export function dnsServerArgument(dns: NetworkSettings['dnsServer']): string {
  if (dns.port !== 53) {
    throw new CanarytrapError(
      'emulator-dns-port',
      `the run's DNS sinkhole listens on ${dns.host}:${dns.port}, but the Android emulator sends DNS only to port 53 (-dns-server takes an address, not a port)`,
      {
        permanent: true,
        hint: 'run the sinkhole on port 53 of a loopback alias (e.g. 127.0.0.53:53, which needs CAP_NET_BIND_SERVICE) for SDK emulator runs',
      },
    );
  }
  if (!isIPv4(dns.host)) {
    throw new CanarytrapError(
      'emulator-dns-address',
      `the run's DNS sinkhole is at "${dns.host}", but -dns-server needs an IPv4 address`,
      { permanent: true },
    );
  }
  return dns.host;
}

/** The exact emulator command line for one headless, read-only, disposable boot. */
export function emulatorArgs(input: EmulatorCommandInput): string[] {
  const network = input.network;
  return [
    '-avd',
    input.avdName,
    '-sysdir',
    input.imageDir,
    '-no-window',
    '-no-audio',
    '-no-boot-anim',
    '-no-snapshot',
    // Parallel boots of one image: every instance writes to temporary copies only.
    '-read-only',
    '-ports',
    `${input.consolePort},${input.adbPort}`,
    ...(input.writableSystem ? ['-writable-system'] : []),
    ...(network.mode === 'proxy'
      ? ['-http-proxy', `http://${network.httpProxy.host}:${network.httpProxy.port}`]
      : []),
    '-dns-server',
    dnsServerArgument(network.dnsServer),
    '-tcpdump',
    input.pcapPath,
    ...(input.phoneNumber ? ['-phone-number', input.phoneNumber] : []),
    '-gpu',
    'swiftshader_indirect',
    '-accel',
    input.acceleration,
  ];
}

/** The emulator's environment: our SDK, our temporary AVD home, our adb server. */
export function emulatorEnv(input: {
  androidHome: string;
  avdHome: string;
  adbServerPort: number;
}): Record<string, string> {
  return {
    ANDROID_HOME: input.androidHome,
    ANDROID_SDK_ROOT: input.androidHome,
    ANDROID_AVD_HOME: input.avdHome,
    ANDROID_ADB_SERVER_PORT: String(input.adbServerPort),
  };
}
