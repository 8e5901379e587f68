/**
 * The slice of Frida's script runtime the agents use, typed here instead of through Frida's
 * global declarations: those would leak `send`, `Process` and friends into the whole project's
 * type space. The agents reach every global through `fridaRuntime()`, which also lets a test
 * harness provide the globals.
 */

export interface JavaWrapper {
  [member: string]: unknown;
}

export type JavaImplementation = (this: JavaWrapper, ...args: unknown[]) => unknown;

export interface JavaMethod {
  implementation: JavaImplementation | null;
  readonly overloads: JavaMethod[];
  readonly argumentTypes: { className: string }[];
  readonly returnType: { className: string };
  call(receiver: JavaWrapper, ...args: unknown[]): unknown;
}

export interface JavaApi {
  readonly available?: boolean;
  perform(fn: () => void): void;
  use(className: string): JavaWrapper;
  enumerateLoadedClassesSync?(): string[];
}

export interface NativePointerLike {
  isNull(): boolean;
  toInt32(): number;
  readU8(): number;
  readU16(): number;
  readByteArray(length: number): ArrayBuffer | null;
  readUtf8String(length?: number): string | null;
  add(offset: number): NativePointerLike;
}

export interface InvocationArgs {
  [index: number]: NativePointerLike;
}

export interface InvocationCallbacks {
  onEnter?(this: { [key: string]: unknown }, args: InvocationArgs): void;
  onLeave?(this: { [key: string]: unknown }, retval: NativePointerLike): void;
}

export interface ModuleLike {
  readonly name: string;
  findExportByName(symbol: string): NativePointerLike | null;
}

export interface FridaRuntime {
  Java?: JavaApi;
  Interceptor: { attach(target: NativePointerLike, callbacks: InvocationCallbacks): unknown };
  Process: {
    readonly id: number;
    findModuleByName(name: string): ModuleLike | null;
    attachModuleObserver?(observer: { onAdded?(module: ModuleLike): void }): unknown;
  };
  Socket: {
    type(fd: number): string | null;
    peerAddress(fd: number): { ip?: string; port?: number; path?: string } | null;
  };
  NativeFunction: new (
    address: NativePointerLike,
    returnType: string,
    argumentTypes: string[],
  ) => (...args: unknown[]) => unknown;
  send(message: unknown): void;
  rpc: { exports: Record<string, (...args: never[]) => unknown> };
}

export function fridaRuntime(): FridaRuntime {
  return globalThis as unknown as FridaRuntime;
}

/**
 * The Java bridge: the runtime's own where one is present (older Frida, or a test harness),
 * else the bundled frida-java-bridge. Imported lazily because constructing it probes the ART
 * runtime of the process it runs in.
 */
export async function javaBridge(): Promise<JavaApi> {
  const provided = fridaRuntime().Java;
  if (provided) return provided;
  const bridge = await import('frida-java-bridge');
  return bridge.default;
}
