import type { HostPort } from '../../src/capture/addresses.ts';

/**
 * Plays the cage's edge for capture tests on loopback: a test client connects to the capture
 * directly and then says, by its own port, where it "was going". No packet goes anywhere but
 * loopback; the TEST-NET destinations exist only in this table.
 */
export class FakeEdge {
  private readonly placed = new Map<string, HostPort | undefined>();
  private readonly waiting = new Map<string, (destination: HostPort | undefined) => void>();
  /** Every lookup the capture made, in order. */
  readonly lookups: Array<{ protocol: 'tcp' | 'udp'; client: HostPort }> = [];

  /** `unplaced`: the answer for clients the test never placed, instead of waiting for them. */
  constructor(private readonly unplaced?: HostPort) {}

  /** Records where the client on `port` was going; `undefined`: the edge has no record of it. */
  place(protocol: 'tcp' | 'udp', port: number, destination: HostPort | undefined): void {
    const key = `${protocol}:${port}`;
    this.placed.set(key, destination);
    this.waiting.get(key)?.(destination);
    this.waiting.delete(key);
  }

  /** The `originalDestination` of a CaptureCage. Waits for the test to place the client. */
  readonly originalDestination = (
    protocol: 'tcp' | 'udp',
    client: HostPort,
  ): Promise<HostPort | undefined> => {
    this.lookups.push({ protocol, client });
    const key = `${protocol}:${client.port}`;
    if (this.placed.has(key)) return Promise.resolve(this.placed.get(key));
    if (this.unplaced !== undefined) return Promise.resolve(this.unplaced);
    // The capture may ask before the test client learnt its own port: answer once it is placed.
    return new Promise((resolve) => this.waiting.set(key, resolve));
  };
}
