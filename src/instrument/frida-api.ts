/**
 * The part of frida-node (v17) the session manager uses. frida-node is an optional dependency
 * loaded at run time, so its own typings cannot be imported here; this is the contract.
 */

export interface FridaSignal<H extends (...args: never[]) => void> {
  connect(handler: H): void;
  disconnect(handler: H): void;
}

export interface FridaProcess {
  pid: number;
  name: string;
}

export interface FridaSpawn {
  pid: number;
  identifier: string | null;
}

export type FridaMessage =
  { type: 'send'; payload: unknown } | { type: 'error'; description: string; stack?: string };

export interface FridaScript {
  readonly message: FridaSignal<(message: FridaMessage, data: Buffer | null) => void>;
  readonly exports: Record<string, (...args: unknown[]) => Promise<unknown>>;
  load(): Promise<void>;
  unload(): Promise<void>;
}

export type FridaDetachReason =
  | 'application-requested'
  | 'process-replaced'
  | 'process-terminated'
  | 'connection-terminated'
  | 'device-lost';

export interface FridaSession {
  readonly detached: FridaSignal<(reason: FridaDetachReason, crash: unknown) => void>;
  createScript(source: string): Promise<FridaScript>;
  detach(): Promise<void>;
}

export interface FridaDevice {
  readonly spawnAdded: FridaSignal<(spawn: FridaSpawn) => void>;
  enumerateProcesses(): Promise<FridaProcess[]>;
  enableSpawnGating(): Promise<void>;
  disableSpawnGating(): Promise<void>;
  resume(pid: number): Promise<void>;
  attach(pid: number): Promise<FridaSession>;
}

export interface FridaApi {
  getDeviceManager(): {
    addRemoteDevice(address: string): Promise<FridaDevice>;
    removeRemoteDevice(address: string): Promise<void>;
  };
}
