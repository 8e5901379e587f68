import type { InstrumentationEvent } from '../../src/android/instrumentation-events.ts';
import { fridaRuntime, type FridaRuntime, type JavaApi, type JavaWrapper } from './frida.ts';
import { callMethod } from './java.ts';

/** Identifiers the device answers with: the run's canary values, so reading one is reading a canary. */
export interface SpoofedIdentity {
  imei?: string;
  imsi?: string;
  iccid?: string;
  line1?: string;
  serial?: string;
  androidId?: string;
  wifiMac?: string;
}

/** What the session passes to `rpc.exports.configure` before hooks go in. */
export interface AgentOptions {
  /** The package (or process name) the script runs in; named in every event. */
  package?: string;
  identity?: SpoofedIdentity;
  /** Frames of Java stack kept on events where a stack is taken. */
  stackDepth?: number;
}

type Base = 't' | 'source' | 'pid' | 'package' | 'stack';
export type EventFields = InstrumentationEvent extends infer E
  ? E extends InstrumentationEvent
    ? Omit<E, Base>
    : never
  : never;

export interface AgentContext {
  readonly java: JavaApi;
  readonly rt: FridaRuntime;
  readonly packageName: string;
  readonly identity: SpoofedIdentity;
  /** Sends one event; `withStack` takes a short Java stack (only on the Java thread of a hook). */
  emit(fields: EventFields, withStack?: boolean): void;
  /** A stable number per Java object, to keep state for one Cipher or stream across calls. */
  objectId(object: JavaWrapper): number;
}

export function createContext(java: JavaApi, options: AgentOptions): AgentContext {
  const rt = fridaRuntime();
  const depth = options.stackDepth ?? 6;
  let system: JavaWrapper | undefined;
  let throwable: JavaWrapper | undefined;
  const javaStack = (): string[] | undefined => {
    try {
      throwable ??= java.use('java.lang.Throwable');
      const here = callMethod(throwable, '$new') as JavaWrapper;
      const frames = callMethod(here, 'getStackTrace') as ArrayLike<JavaWrapper>;
      const out: string[] = [];
      // Frame 0 is the hooked method itself, which the event's type already names.
      for (let i = 1; i < frames.length && out.length < depth; i++) {
        const frame = frames[i];
        if (frame) out.push(String(callMethod(frame, 'toString')));
      }
      return out;
    } catch {
      return undefined;
    }
  };
  return {
    java,
    rt,
    packageName: options.package ?? 'unknown',
    identity: options.identity ?? {},
    emit(fields, withStack = false) {
      const stack = withStack ? javaStack() : undefined;
      const event = {
        t: Date.now(),
        source: 'frida',
        pid: rt.Process.id,
        package: options.package ?? 'unknown',
        ...(stack ? { stack } : {}),
        ...fields,
      };
      rt.send({ type: 'event', event });
    },
    objectId(object) {
      system ??= java.use('java.lang.System');
      return Number(callMethod(system, 'identityHashCode', object));
    },
  };
}
