import type { Logger } from '../../log.ts';
import type {
  LabDevicePorts,
  LabFileSystem,
  LabIdentity,
  LabShell,
  ShellContext,
} from '../services.ts';

/** What the services of one adb device server share: the OS model and adbd's own state. */
export interface ServiceContext {
  shell: LabShell;
  fs: LabFileSystem;
  identity: LabIdentity;
  /** The device's loopback, for `tcp:<port>`. */
  devicePorts: LabDevicePorts;
  /** adbd's state, shared by every connection: `root` survives the restart `adb root` causes. */
  shellContext: ShellContext;
  logger: Logger;
  /**
   * How long a command without a known stdin length waits for the host to start sending stdin
   * before it runs with none. The lab shell takes stdin whole, so it cannot stream it.
   */
  stdinGraceMs: number;
  /** Told when `adb root` switched adbd to root. */
  onRoot?: (() => void) | undefined;
  /** adbd restarts (after `root:` / `unroot:`): every host connection is dropped. */
  restartAdbd(): void;
}
