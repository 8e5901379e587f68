/**
 * The seam between the lab phone's protocol servers (adb device protocol, emulator console) and
 * its operating system model (state, shell, behaviours). The servers speak the wire protocols;
 * the OS answers the commands.
 */

export interface ShellContext {
  /** True after `adb root` (the lab phone's adbd runs as root from `root:` on). */
  root: boolean;
}

/** Per command: a long-running command (`am instrument -w`, `logcat`) ends when this aborts. */
export interface RunOptions {
  /** Aborted when the host closes the command's stream. */
  signal?: AbortSignal;
  /**
   * Sends stdout to the host as it is produced. Long-running commands (`logcat`) use it; the
   * rest of a command line's output still comes with the outcome.
   */
  onStdout?: (data: Buffer) => Promise<void>;
}

export interface ShellOutcome {
  stdout: Buffer | string;
  stderr: Buffer | string;
  exitCode: number;
}

/** Runs one command line as `adb shell` / `exec:` hand it over (already joined by adb). */
export interface LabShell {
  run(
    commandLine: string,
    context: ShellContext,
    stdin?: Buffer,
    options?: RunOptions,
  ): Promise<ShellOutcome>;
}

export interface LabFileStat {
  /** POSIX mode bits including the file type (0o100644 for a file, 0o040755 for a directory). */
  mode: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
}

/** The device file system as adb's sync protocol sees it. Paths are device paths. */
export interface LabFileSystem {
  stat(path: string): Promise<LabFileStat | undefined>;
  list(path: string): Promise<Array<LabFileStat & { name: string }>>;
  read(path: string): Promise<Buffer>;
  write(path: string, data: Buffer, mode: number, mtime: number): Promise<void>;
}

export type ConsoleReply = { ok: true; output: string } | { ok: false; error: string };

/** Answers emulator console commands after authentication (`sms send`, `gsm call`, `geo fix`...). */
export interface LabConsole {
  handle(commandLine: string): Promise<ConsoleReply>;
  /** `kill`: the device should shut down after the reply is written. */
  kill(): Promise<void>;
}

/** What the adb CNXN banner says about the device. */
export interface LabIdentity {
  product: string;
  model: string;
  device: string;
}

/** The device's loopback ports (`adb forward tcp:X tcp:<device port>` reaches them). */
export interface LabDevicePorts {
  /** The host port on 127.0.0.1 that serves this device port, if anything listens there. */
  hostPortOf(devicePort: number): number | undefined;
}
