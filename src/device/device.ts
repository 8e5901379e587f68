import type { LauncherName } from '../config.ts';
import type { Cage } from '../capture/cage/index.ts';
import type { Logger } from '../log.ts';

export interface ShellResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface ShellOptions {
  /** Default 30 s. The error names this option. */
  timeoutMs?: number;
  /** Resolve with a non-zero exit code instead of throwing `device-command-failed`. */
  allowFailure?: boolean;
}

/**
 * Everything downstream of boot talks to a device through this interface only. The production
 * implementation (AdbDevice) drives real `adb` and the emulator console, for the SDK emulator
 * and the lab phone alike.
 */
export interface Device {
  /** adb serial, `emulator-<console port>`. */
  readonly serial: string;
  readonly consolePort: number;
  readonly adbPort: number;
  shell(command: string, options?: ShellOptions): Promise<ShellResult>;
  push(localPath: string, remotePath: string): Promise<void>;
  pull(remotePath: string, localPath: string): Promise<void>;
  install(apkPath: string): Promise<void>;
  /** One emulator console command; resolves with its output (without the final `OK`). */
  console(command: string): Promise<string>;
  abi(): Promise<string>;
  apiLevel(): Promise<number>;
  /** `adb root`, then waits until the shell runs as uid 0. */
  root(): Promise<void>;
  /** adb forward tcp:<local> tcp:<remote>; resolves with the local port. */
  forward(remotePort: number, localPort?: number): Promise<number>;
}

/**
 * What a device offers instrumentation, as the launcher that booted it knows it: code after boot
 * reads this, never which launcher it got.
 */
export interface DeviceInstrumentation {
  /** Why no frida-server can run on it; undefined when one can be pushed and started. */
  fridaUnavailable?: string;
  /** Set when the device writes its own apps' events to its events file, in the same schema. */
  ownEvents?: {
    /** Appended to the reason Frida is unavailable, for the report's limitations. */
    note: string;
    /** The run's instrumentation summary when Frida is unavailable. */
    summary: string;
  };
}

/** A booted device that owns its process, ports and temp dirs; disposing it tears all down. */
export interface RunningDevice extends Device, AsyncDisposable {
  /** Recorded in the report; nothing after boot branches on it. */
  readonly launcher: LauncherName;
  readonly instrumentation: DeviceInstrumentation;
  /** Idempotent: kill (console `kill`, then SIGTERM, then SIGKILL), reap, free ports, remove temp dirs. */
  stop(): Promise<void>;
}

export type { LauncherName };

export interface NetworkSettings {
  /**
   * The run's DNS sinkhole, uncaged (the lab phone accepts any port; the SDK emulator needs 53).
   * In a cage the device's DNS server is always the cage's gateway, port 53.
   */
  dnsServer: { host: string; port: number };
  /**
   * The run's interception proxy: required uncaged, where it is the device's only way to the
   * run; absent in a cage, where the edge steers every connection to the capture.
   */
  httpProxy?: { host: string; port: number };
  /** Where the emulator writes its own pcap (`-tcpdump`). */
  pcapPath?: string;
}

export interface LaunchRequest {
  /** Directory holding the unpacked image (system.img and friends), as intake stored it. */
  imageDir: string;
  /** The run directory; device logs go there. */
  runDir: string;
  network: NetworkSettings;
  /**
   * The run's cage (docs/cage.md). With it the device process runs inside the cage's network
   * namespace, its console and adb ports reach the host through one-way relays, and the
   * launcher announces it to the adb server. Without it the device runs uncaged, through
   * `network.httpProxy`. The caller owns the cage and disposes it after the device.
   */
  cage?: Cage;
  /** Line-1 number the device reports (`-phone-number`). */
  phoneNumber?: string;
  /** Default 180 s for the emulator, 20 s for the lab phone. */
  bootTimeoutMs?: number;
  logger: Logger;
  signal?: AbortSignal;
}

export interface Launcher {
  readonly name: LauncherName;
  /** Why this launcher cannot run that image here, or undefined when it can. */
  unavailableReason(imageDir: string): Promise<string | undefined>;
  launch(request: LaunchRequest): Promise<RunningDevice>;
}
