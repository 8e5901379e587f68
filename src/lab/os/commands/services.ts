import type { LabOs } from '../lab-os.ts';
import { dumpAlarms } from '../scheduling/alarm-dump.ts';
import { dumpJobs } from '../scheduling/job-dump.ts';
import { fail, ok, type Command, type CommandResult } from '../shell/types.ts';
import { dumpActivities, dumpPower, dumpServices, dumpWindow } from '../ui/dumps.ts';
import { dumpPackage, packageManager } from './packages.ts';

/** `cmd` exits with the shell command's int result; Android's negative codes wrap to a byte. */
const exitOf = (code: number): number => code & 0xff;
const CMD_ERR_NO_PACKAGE = -1000;
const CMD_ERR_NO_JOB = -1001;

function jobscheduler(os: LabOs, args: string[]): CommandResult {
  const [verb, ...rest] = args;
  if (verb !== 'run') return fail(`Unknown command: ${verb ?? ''}`, 255);
  const operands = rest.filter((a) => !a.startsWith('-'));
  const force = rest.includes('-f') || rest.includes('--force');
  const [pkg = '', idText = ''] = operands;
  const jobId = Number.parseInt(idText, 10);
  const result = os.jobs.forceRun(pkg, jobId);
  if (result === 'no-package')
    return { stdout: `Package not found: ${pkg} / user 0\n`, exitCode: exitOf(CMD_ERR_NO_PACKAGE) };
  if (result === 'no-job')
    return {
      stdout: `Could not find job ${idText} in package ${pkg} / user 0\n`,
      exitCode: exitOf(CMD_ERR_NO_JOB),
    };
  return ok(`Running job${force ? ' [FORCED]' : ''}\n`);
}

function alarm(os: LabOs, args: string[]): CommandResult {
  const [verb, value] = args;
  if (verb === 'set-time') {
    const ms = Number(value);
    if (value === undefined || !Number.isFinite(ms))
      return fail(`Error: invalid time '${value ?? ''}'`, 255);
    os.clock.set(ms);
    return ok();
  }
  if (verb === 'set-timezone') return ok();
  return fail(`Unknown command: ${verb ?? ''}`, 255);
}

function deviceidle(os: LabOs, args: string[]): CommandResult {
  const [verb, ...rest] = args;
  switch (verb) {
    case undefined:
      return ok(
        `  mForceIdle=${os.deviceIdle.forced}\n  mState=${os.deviceIdle.state} mLightState=${os.deviceIdle.state === 'ACTIVE' ? 'ACTIVE' : 'OVERRIDE'}\n`,
      );
    case 'force-idle':
      os.deviceIdle.forceIdle();
      return ok('Now forced in to deep idle mode\n');
    case 'unforce':
      os.deviceIdle.unforce();
      return ok('Light state: ACTIVE, deep state: ACTIVE\n');
    case 'step':
      return ok(`Stepped to deep: ${os.deviceIdle.step()}\n`);
    case 'get':
      return ok(`${rest[0] === 'force' ? String(os.deviceIdle.forced) : os.deviceIdle.state}\n`);
    case 'enable':
      return ok('Deep idle mode enabled\nLight idle mode enabled\n');
    case 'disable':
      return ok('Deep idle mode disabled\nLight idle mode disabled\n');
    case 'whitelist':
      return ok(
        rest
          .map(
            (entry) =>
              `${entry.startsWith('-') ? 'Removed' : 'Added'}: ${entry.replace(/^[-+]/, '')}\n`,
          )
          .join(''),
      );
    default:
      return fail(`Unknown command: ${verb}`, 255);
  }
}

function dumpsysService(os: LabOs, service: string, args: string[]): CommandResult {
  switch (service) {
    case 'alarm':
      return ok(
        dumpAlarms(
          os.alarms.pending(),
          os.clock.now(),
          os.clock.elapsed(),
          os.deviceIdle.state === 'IDLE',
        ),
      );
    case 'jobscheduler':
      return ok(dumpJobs(os.jobs.jobs(), os.clock.now(), os.clock.elapsed()));
    case 'deviceidle':
      return deviceidle(os, args);
    case 'window':
      return ok(dumpWindow(os));
    case 'activity':
      if (args[0] === 'services') return ok(dumpServices(os, args[1]));
      return ok(dumpActivities(os));
    case 'power':
      return ok(dumpPower());
    case 'package': {
      const name = args.find((a) => !a.startsWith('-'));
      if (name === undefined)
        return ok(
          os.packages
            .all()
            .map((p) => dumpPackage(os, p))
            .join(''),
        );
      const info = os.packages.get(name);
      return ok(info ? dumpPackage(os, info) : '');
    }
    default:
      return fail(`Can't find service: ${service}`, 0);
  }
}

export const dumpsys: Command = async ({ args, os }) => {
  const [service, ...rest] = args;
  if (service === undefined || service === '-l') {
    return ok(
      'Currently running services:\n  activity\n  alarm\n  deviceidle\n  jobscheduler\n  package\n  power\n  settings\n  window\n',
    );
  }
  return dumpsysService(os, service, rest);
};

export const cmd: Command = async ({ args, os, stdin }) => {
  const [service, ...rest] = args;
  switch (service) {
    case 'alarm':
      return alarm(os, rest);
    case 'jobscheduler':
      return jobscheduler(os, rest);
    case 'deviceidle':
      return deviceidle(os, rest);
    case 'package':
      return packageManager(os, rest, stdin);
    case 'notification':
      // allow_listener / disallow_listener: the lab phone posts no notifications to listen to.
      return rest[0]?.endsWith('allow_listener') === true
        ? ok()
        : fail(`Unknown command: ${rest[0] ?? ''}`, 255);
    case undefined:
      return fail('cmd: no service specified; use -l to list all services', 20);
    default:
      return fail(`cmd: Can't find service: ${service}`, 20);
  }
};

/** System services that exist once the framework is up; readiness probes ask for these. */
const FRAMEWORK_SERVICES = [
  'activity',
  'package',
  'window',
  'alarm',
  'jobscheduler',
  'phone',
  'isms',
  'settings',
  'deviceidle',
  'connectivity',
];

/** `service check <name>` / `service list`, as servicemanager answers them. */
export const service: Command = async ({ args, os }) => {
  const [verb, name] = args;
  const running = os.booted ? FRAMEWORK_SERVICES : [];
  if (verb === 'check' && name)
    return ok(`Service ${name}: ${running.includes(name) ? 'found' : 'not found'}\n`);
  if (verb === 'list')
    return ok(
      `Found ${running.length} services:\n${running.map((s, i) => `${i}\t${s}: [android.os.IBinder]\n`).join('')}`,
    );
  return fail('Usage: service [-h|-?]\n       service list\n       service check SERVICE\n', 1);
};
