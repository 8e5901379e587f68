import type { InstrumentationEvent } from '../../android/instrumentation-events.ts';
import type { BehaviourHost } from './host.ts';

/** An event as an app states it: the time, pid, package and source are filled in by {@link AppEvents}. */
export type AppEvent = Unstamped<InstrumentationEvent>;
type Unstamped<E> = E extends unknown ? Omit<E, 't' | 'source' | 'pid' | 'package'> : never;

/**
 * The instrumentation events of one app, stamped the way a Frida hook inside that app's process
 * would stamp them: device time, the app's pid and package, source `lab`.
 */
export class AppEvents {
  constructor(
    private readonly host: BehaviourHost,
    readonly pkg: string,
  ) {}

  emit(event: AppEvent): void {
    const stamped = {
      t: this.host.now(),
      source: 'lab',
      pid: this.host.pidOf(this.pkg),
      package: this.pkg,
      ...event,
    } as InstrumentationEvent;
    this.host.emit(stamped);
  }
}

/** Bytes as instrumentation events carry them. */
export function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}
