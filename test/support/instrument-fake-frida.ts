import { readFile } from 'node:fs/promises';
import { createContext, runInContext } from 'node:vm';

/**
 * A stand-in for Frida's script runtime, enough to load an agent bundle in a `vm` context and
 * drive its hooks: Java classes whose methods record `implementation` assignments, Interceptor
 * callbacks, modules with exports, sockets with peers. Calls made by the agent reach the
 * original behaviour (as in Frida); calls made through `app()` reach the hook, as the app's would.
 */

type Original = (self: FakeObject, ...args: unknown[]) => unknown;

export interface FakeClassDefinition {
  methods?: Record<string, Original>;
  /** Static fields, as `{ value }` wrappers the way Frida exposes them. */
  fields?: Record<string, unknown>;
  /** What reflection (`Class.getDeclaredFields`) reports: name and type name. */
  declaredFields?: { name: string; type: string }[];
}

export interface FakeObject {
  [member: string]: unknown;
  $className: string;
}

interface FakeMethod {
  (this: FakeObject, ...args: unknown[]): unknown;
  implementation: ((this: FakeObject, ...args: unknown[]) => unknown) | null;
  overloads: FakeMethod[];
  argumentTypes: { className: string }[];
  returnType: { className: string };
}

export interface FakePointer {
  isNull(): boolean;
  toInt32(): number;
  readU8(): number;
  readU16(): number;
  readByteArray(length: number): ArrayBuffer | null;
  readUtf8String(): string | null;
  add(offset: number): FakePointer;
}

/** A pointer into a buffer, or an integer passed as a pointer-sized argument. */
export function pointer(value: Buffer | number, offset = 0): FakePointer {
  const buffer = typeof value === 'number' ? undefined : value;
  const integer = typeof value === 'number' ? value : 0;
  const view = (): Buffer => {
    if (!buffer) throw new Error('integer argument dereferenced');
    return buffer.subarray(offset);
  };
  return {
    isNull: () => buffer === undefined && integer === 0,
    toInt32: () => integer,
    readU8: () => view().readUInt8(0),
    readU16: () => view().readUInt16LE(0),
    readByteArray: (length) => Uint8Array.from(view().subarray(0, length)).buffer,
    readUtf8String: () => {
      const bytes = view();
      const end = bytes.indexOf(0);
      return bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
    },
    add: (more) => pointer(value, offset + more),
  };
}

/** Java byte[] as Frida hands it to JavaScript: an array of signed numbers. */
export function javaBytes(bytes: Uint8Array | string): number[] {
  const buffer = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  return Array.from(buffer, (b) => (b << 24) >> 24);
}

export function unsigned(bytes: unknown): Buffer {
  return Buffer.from((bytes as number[]).map((b) => b & 0xff));
}

export interface NativeExport {
  module: string;
  symbol: string;
  /** What a NativeFunction on this export returns. */
  impl?: (...args: unknown[]) => unknown;
}

export class FakeFrida {
  readonly messages: unknown[] = [];
  private readonly classes = new Map<string, FakeObject>();
  private readonly definitions = new Map<string, FakeClassDefinition>();
  private readonly attached = new Map<
    string,
    { onEnter?: (args: FakePointer[]) => void; onLeave?: (r: FakePointer) => void }
  >();
  private readonly exports = new Map<string, NativeExport>();
  private readonly sockets = new Map<number, { type: string; ip: string; port: number }>();
  private nextId = 1;
  readonly context: Record<string, unknown>;

  constructor(readonly pid = 4242) {
    const rpc = { exports: {} as Record<string, (...args: unknown[]) => unknown> };
    this.context = createContext({
      Java: {
        available: true,
        perform: (fn: () => void) => fn(),
        use: (name: string) => this.use(name),
        enumerateLoadedClassesSync: () => [...this.definitions.keys()],
      },
      Interceptor: {
        attach: (target: { symbol: string }, callbacks: never) =>
          this.attached.set(target.symbol, callbacks),
      },
      Process: {
        id: pid,
        findModuleByName: (name: string) =>
          [...this.exports.values()].some((e) => e.module === name)
            ? {
                name,
                findExportByName: (symbol: string) => this.exports.get(`${name}!${symbol}`) ?? null,
              }
            : null,
      },
      Socket: {
        type: (fd: number) => this.sockets.get(fd)?.type ?? null,
        peerAddress: (fd: number) => {
          const socket = this.sockets.get(fd);
          return socket ? { ip: socket.ip, port: socket.port } : null;
        },
      },
      NativeFunction: function (address: NativeExport) {
        return (...args: unknown[]) => address.impl?.(...args);
      },
      // Frida serialises messages to JSON; doing the same drops the vm realm's prototypes.
      send: (message: unknown) => this.messages.push(JSON.parse(JSON.stringify(message))),
      rpc,
    });
    this.define('java.lang.System', {
      methods: { identityHashCode: (_self, object) => (object as FakeObject)['__id'] },
    });
    this.define('java.lang.Throwable', {
      methods: {
        $new: () => this.instance('java.lang.Throwable', {}),
        getStackTrace: () =>
          [
            'hooked.method(Native Method)',
            'com.suspect.Uploader.run(Uploader.java:42)',
            'java.lang.Thread.run(Thread.java:764)',
          ].map((line) => ({ toString: () => line })),
      },
    });
  }

  define(className: string, definition: FakeClassDefinition): void {
    this.definitions.set(className, definition);
  }

  exportNative(entry: NativeExport): void {
    this.exports.set(`${entry.module}!${entry.symbol}`, entry);
  }

  openSocket(fd: number, type: string, ip: string, port: number): void {
    this.sockets.set(fd, { type, ip, port });
  }

  async load(bundlePath: string): Promise<void> {
    runInContext(await readFile(bundlePath, 'utf8'), this.context, { filename: bundlePath });
  }

  async configure(options: unknown): Promise<unknown> {
    const rpc = this.context['rpc'] as { exports: Record<string, (o: unknown) => unknown> };
    const configure = rpc.exports['configure'];
    if (!configure) throw new Error('agent exported no configure()');
    return JSON.parse(JSON.stringify(await configure(options))) as unknown;
  }

  /** An object of a fake class; its methods run the original behaviour. */
  instance(className: string, properties: Record<string, unknown>): FakeObject {
    const object: FakeObject = { $className: className, __id: this.nextId++, ...properties };
    for (const [name, original] of Object.entries(this.definitions.get(className)?.methods ?? {}))
      if (!(name in object)) object[name] = (...args: unknown[]) => original(object, ...args);
    return object;
  }

  /** The app calls a method: through the hook where one is installed. */
  app(target: FakeObject | string, method: string, ...args: unknown[]): unknown {
    const receiver = typeof target === 'string' ? this.use(target) : target;
    const fake = this.use(receiver.$className)[method] as FakeMethod | undefined;
    if (!fake) throw new Error(`${receiver.$className} has no ${method}`);
    return fake.implementation
      ? fake.implementation.apply(receiver, args)
      : fake.apply(receiver, args);
  }

  /** The native function is called: the attached callbacks run around it. */
  native(symbol: string, args: FakePointer[], retval: FakePointer = pointer(0)): void {
    const callbacks = this.attached.get(symbol);
    if (!callbacks) throw new Error(`nothing attached to ${symbol}`);
    const state = {};
    callbacks.onEnter?.call(state, args);
    callbacks.onLeave?.call(state, retval);
  }

  hooked(className: string, method: string): boolean {
    return Boolean(
      (this.classes.get(className)?.[method] as FakeMethod | undefined)?.implementation,
    );
  }

  /** Events sent so far, with the device clock field checked and removed for exact comparison. */
  events(): Record<string, unknown>[] {
    return this.messages.map((message) => {
      const { type, event } = message as { type: string; event: Record<string, unknown> };
      if (type !== 'event' || typeof event['t'] !== 'number')
        throw new Error(`not an event: ${JSON.stringify(message)}`);
      const rest = { ...event };
      delete rest['t'];
      return rest;
    });
  }

  private use(className: string): FakeObject {
    const existing = this.classes.get(className);
    if (existing) return existing;
    const definition = this.definitions.get(className);
    if (!definition) throw new Error(`java.lang.ClassNotFoundException: ${className}`);
    const wrapper: FakeObject = { $className: className };
    for (const [name, original] of Object.entries(definition.methods ?? {})) {
      const method = function (this: FakeObject, ...args: unknown[]) {
        return original(this, ...args);
      } as FakeMethod;
      method.implementation = null;
      method.overloads = [method];
      method.argumentTypes = [];
      method.returnType = { className: 'java.lang.Object' };
      wrapper[name] = method;
    }
    for (const [name, value] of Object.entries(definition.fields ?? {})) wrapper[name] = { value };
    const declared = definition.declaredFields;
    if (declared)
      wrapper['class'] = {
        getDeclaredFields: () =>
          declared.map((field) => ({
            getName: () => field.name,
            getType: () => ({ getName: () => field.type }),
          })),
      };
    this.classes.set(className, wrapper);
    return wrapper;
  }
}
