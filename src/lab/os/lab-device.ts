import { join } from 'node:path';
import type { BehaviourHost } from '../behaviour/host.ts';
import type { LabConsole, LabFileSystem, LabIdentity, LabShell } from '../services.ts';
import { LabBehaviourHost } from './behaviour-host.ts';
import { createCommands } from './commands/index.ts';
import { LabConsoleHandler } from './console-handler.ts';
import { LabOs, type LabOsOptions } from './lab-os.ts';
import { LabShellInterpreter } from './shell/interpreter.ts';
import { InstrumentationRunner } from './uia2/instrumentation.ts';

/** The OS model with every face it shows: to adb, to the console, to the behaviour engine. */
export interface LabDevice {
  os: LabOs;
  shell: LabShell;
  fileSystem: LabFileSystem;
  console: LabConsole;
  host: BehaviourHost;
  identity: LabIdentity;
}

export interface LabDeviceOptions extends Omit<LabOsOptions, 'layout' | 'instrumentations'> {
  /** The phone's own temp dir; the device file system lives under it. */
  rootDir: string;
  /** Host dir holding the extracted system partition. */
  systemDir: string;
  /** Console `kill`: shut the phone down. */
  onKill: () => Promise<void>;
}

/** Builds the OS model over `rootDir`; call `await device.os.fs.init()` and `device.os.start()` next. */
export function createLabDevice(options: LabDeviceOptions): LabDevice {
  const { rootDir, systemDir, onKill, ...rest } = options;
  const os = new LabOs({
    ...rest,
    instrumentations: (labOs) => new InstrumentationRunner(labOs, rest.logger),
    layout: {
      dataLocalTmp: join(rootDir, 'data-local-tmp'),
      sdcard: join(rootDir, 'sdcard'),
      systemLower: systemDir,
      systemUpper: join(rootDir, 'system-overlay'),
    },
  });
  const b = options.image.build;
  return {
    os,
    shell: new LabShellInterpreter(os, createCommands()),
    fileSystem: os.fs,
    console: new LabConsoleHandler(os, onKill),
    host: new LabBehaviourHost(os),
    identity: { product: b.product, model: b.model.replaceAll(' ', '_'), device: b.device },
  };
}
