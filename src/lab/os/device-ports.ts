import type { LabDevicePorts } from '../services.ts';

/**
 * The phone's own loopback: which device TCP port is served by which host port. A real device's
 * 127.0.0.1 is its own, so two lab phones may both listen on device port 6790; each phone's
 * servers listen on an ephemeral host port and are registered here under their device port.
 */
export class DevicePortTable implements LabDevicePorts {
  readonly #ports = new Map<number, number>();

  /** Serves `devicePort` from `hostPort` on 127.0.0.1; false when the device port is taken. */
  register(devicePort: number, hostPort: number): boolean {
    if (this.#ports.has(devicePort)) return false;
    this.#ports.set(devicePort, hostPort);
    return true;
  }

  /** Frees the device port, only when it is still served by `hostPort`. */
  unregister(devicePort: number, hostPort: number): void {
    if (this.#ports.get(devicePort) === hostPort) this.#ports.delete(devicePort);
  }

  hostPortOf(devicePort: number): number | undefined {
    return this.#ports.get(devicePort);
  }

  listening(): number[] {
    return [...this.#ports.keys()].sort((a, b) => a - b);
  }
}
