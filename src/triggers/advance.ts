import { ANALYSIS_DEFAULTS } from '../config.ts';
import type { Device } from '../device/device.ts';
import type { Logger } from '../log.ts';
import { readDeviceTime, setDeviceTime } from './clock.ts';
import { isWallClockAlarm, parseDumpsysAlarm, parseDumpsysJobs } from './dumpsys.ts';

export interface AdvanceOptions {
  /** Packages whose timers matter (the image's suspect apps). */
  packages: ReadonlySet<string>;
  /** How far to move the device clock. Default 80 h, past a 72-hour timer. */
  horizonHours?: number;
  /** The largest single jump. Default 6 h, so daily work also runs on the way. */
  stepHours?: number;
  /** Resolves when the device has gone quiet after a jump (e.g. no new flows for a second). */
  settle: () => Promise<void>;
  onStep?: (message: string, fraction: number) => void | Promise<void>;
  logger: Logger;
}

export interface AdvanceReport {
  jumps: number;
  alarmsDue: number;
  jobsForced: number;
  advancedHours: number;
}

/**
 * Makes days-long timers fire in minutes: forces the suspect packages' scheduled jobs, takes the
 * device in and out of doze, then moves the clock forward jump by jump, landing just past each
 * pending alarm of a suspect package (read from `dumpsys alarm`) and at least every step.
 */
export async function advanceDeviceTime(
  device: Device,
  options: AdvanceOptions,
): Promise<AdvanceReport> {
  const horizonMs = (options.horizonHours ?? ANALYSIS_DEFAULTS.advanceHours) * 3_600_000;
  const stepMs = (options.stepHours ?? ANALYSIS_DEFAULTS.stepHours) * 3_600_000;
  const start = await readDeviceTime(device);
  const end = start + horizonMs;
  const report: AdvanceReport = { jumps: 0, alarmsDue: 0, jobsForced: 0, advancedHours: 0 };

  report.jobsForced += await forceJobs(device, options);
  await options.settle();
  // Entering and leaving doze releases work that was deferred for idle maintenance windows.
  await device.shell('dumpsys deviceidle force-idle', { allowFailure: true });
  await device.shell('dumpsys deviceidle unforce', { allowFailure: true });

  let now = start;
  for (let guard = 0; now < end && guard < 200; guard++) {
    const alarms = parseDumpsysAlarm((await device.shell('dumpsys alarm')).stdout).filter(
      (a) => options.packages.has(a.pkg) && isWallClockAlarm(a) && a.when > now,
    );
    const nextAlarm = Math.min(...alarms.map((a) => a.when));
    const target = Math.min(
      end,
      now + stepMs,
      Number.isFinite(nextAlarm) ? nextAlarm + 1_000 : Infinity,
    );
    if (Number.isFinite(nextAlarm) && nextAlarm + 1_000 <= target)
      report.alarmsDue += alarms.filter((a) => a.when + 1_000 <= target).length;
    await setDeviceTime(device, target);
    now = target;
    report.jumps++;
    await options.settle();
    await options.onStep?.(
      `device clock +${((now - start) / 3_600_000).toFixed(1)} h`,
      (now - start) / horizonMs,
    );
  }
  // Periodic jobs are due again after a long jump: run them once more.
  report.jobsForced += await forceJobs(device, options);
  await options.settle();
  report.advancedHours = (now - start) / 3_600_000;
  options.logger.info(report, 'device time advanced');
  return report;
}

async function forceJobs(device: Device, options: AdvanceOptions): Promise<number> {
  const jobs = parseDumpsysJobs((await device.shell('dumpsys jobscheduler')).stdout).filter((j) =>
    options.packages.has(j.pkg),
  );
  for (const job of jobs) {
    await device.shell(`cmd jobscheduler run -f ${job.pkg} ${job.jobId}`, { allowFailure: true });
  }
  return jobs.length;
}
