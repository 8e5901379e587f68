import type { JavaApi, JavaMethod, JavaWrapper } from './frida.ts';

/** Calls a method on a Java wrapper by name; Frida exposes Java methods as callable properties. */
export function callMethod(target: JavaWrapper, name: string, ...args: unknown[]): unknown {
  const member = target[name];
  if (typeof member !== 'function') throw new Error(`no method ${name}`);
  return (member as (...a: unknown[]) => unknown).apply(target, args);
}

/** The value of a Java field wrapper (`obj.field.value`). */
export function fieldValue(target: JavaWrapper, name: string): unknown {
  const field = target[name];
  return field && typeof field === 'object' ? (field as { value?: unknown }).value : undefined;
}

export function setFieldValue(target: JavaWrapper, name: string, value: unknown): void {
  const field = target[name];
  if (field && typeof field === 'object') (field as { value?: unknown }).value = value;
}

/** A class by name, or undefined where this process does not have it (OkHttp, hidden APIs). */
export function tryUse(java: JavaApi, className: string): JavaWrapper | undefined {
  try {
    return java.use(className);
  } catch {
    return undefined;
  }
}

export interface HookedCall {
  readonly self: JavaWrapper;
  readonly args: unknown[];
  readonly overload: JavaMethod;
  /** The original method with the arguments as given. */
  invoke(): unknown;
}

/**
 * Replaces every overload of a method. `around` decides what the app gets back; anything it
 * throws while only reporting must be caught by the caller of `observe`, never reach the app.
 */
export function hookAll(
  java: JavaApi,
  className: string,
  methodName: string,
  around: (call: HookedCall) => unknown,
): boolean {
  const cls = tryUse(java, className);
  const method = cls?.[methodName] as JavaMethod | undefined;
  if (!method?.overloads) return false;
  for (const overload of method.overloads) {
    overload.implementation = function (this: JavaWrapper, ...args: unknown[]) {
      return around({ self: this, args, overload, invoke: () => overload.call(this, ...args) });
    };
  }
  return true;
}

/**
 * Runs the original, then reports on what it did. A failure in the report is swallowed on
 * purpose: a hook that breaks the app changes the behaviour under analysis.
 */
export function observe(
  java: JavaApi,
  className: string,
  methodName: string,
  report: (call: HookedCall, result: unknown) => void,
): boolean {
  return hookAll(java, className, methodName, (call) => {
    const result = call.invoke();
    try {
      report(call, result);
    } catch {
      // Reporting is best effort; the app's call already completed.
    }
    return result;
  });
}

/** The class name a Java wrapper reports for itself. */
export function classNameOf(object: unknown): string {
  if (!object || typeof object !== 'object') return '';
  const name = (object as { $className?: unknown }).$className;
  return typeof name === 'string' ? name : '';
}
