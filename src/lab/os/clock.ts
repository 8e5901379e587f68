/**
 * The device's clocks: wall time (RTC) is host time plus an offset that `date -s` and
 * `cmd alarm set-time` move, elapsed realtime counts from the phone's start and never jumps.
 * Listeners hear every wall-clock change so alarms and jobs due in the skipped span can fire.
 */
export type ClockListener = (previous: number, now: number) => void;

export interface HostTime {
  /** Host wall clock, ms since the epoch. */
  wall(): number;
  /** Monotonic ms. */
  monotonic(): number;
}

export const realHostTime: HostTime = {
  wall: () => Date.now(),
  monotonic: () => performance.now(),
};

export class DeviceClock {
  #offset = 0;
  readonly #startedAt: number;
  readonly #listeners = new Set<ClockListener>();

  constructor(private readonly host: HostTime = realHostTime) {
    this.#startedAt = host.monotonic();
  }

  /** Wall clock, ms since the epoch. */
  now(): number {
    return Math.round(this.host.wall() + this.#offset);
  }

  /** SystemClock.elapsedRealtime(): ms since the phone started. */
  elapsed(): number {
    return Math.round(this.host.monotonic() - this.#startedAt);
  }

  /** Sets the wall clock; listeners run synchronously and must not block. */
  set(ms: number): void {
    const previous = this.now();
    this.#offset = ms - this.host.wall();
    for (const listener of this.#listeners) listener(previous, this.now());
  }

  onChange(listener: ClockListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
