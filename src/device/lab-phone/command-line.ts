import type { DeviceNetwork } from '../network-wiring.ts';

export interface LabPhoneCommandInput {
  /** `src/lab/main.ts`, run by node with tsx. */
  labMain: string;
  imageDir: string;
  consolePort: number;
  adbPort: number;
  /** The adb server the phone announces itself to, uncaged. */
  adbServerPort: number;
  network: DeviceNetwork;
  workDir: string;
  authTokenFile: string;
  phoneNumber?: string;
}

/**
 * The lab phone's arguments (after the node binary), as the emulator's would be: in a cage only
 * its DNS server (the gateway), since the edge carries everything else and the launcher
 * announces it from the host; uncaged also the run's proxy and the adb server to announce to.
 */
export function labPhoneArgs(input: LabPhoneCommandInput): string[] {
  const { network } = input;
  const uncaged =
    network.mode === 'proxy'
      ? [
          '--adb-server-port',
          String(input.adbServerPort),
          '--http-proxy',
          `${network.httpProxy.host}:${network.httpProxy.port}`,
        ]
      : [];
  return [
    '--import',
    'tsx',
    input.labMain,
    '--image-dir',
    input.imageDir,
    '--console-port',
    String(input.consolePort),
    '--adb-port',
    String(input.adbPort),
    ...uncaged,
    '--dns-server',
    `${network.dnsServer.host}:${network.dnsServer.port}`,
    '--work-dir',
    input.workDir,
    '--auth-token-file',
    input.authTokenFile,
    // If the launcher dies, even by SIGKILL, the phone sees its stdin close, stops and removes
    // the work dir that the launcher's cleanup could then no longer remove.
    '--exit-with-stdin',
    '--remove-work-dir',
    ...(input.phoneNumber ? ['--phone-number', input.phoneNumber] : []),
  ];
}
