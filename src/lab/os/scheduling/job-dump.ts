import { formatUid } from '../packages.ts';
import { formatDuration, formatRelative } from '../time-format.ts';
import type { JobRecord } from './job-scheduler.ts';

/** ComponentName.flattenToShortString(): `com.x/.Service` when the class is in the package. */
export function shortComponent(pkg: string, service: string): string {
  // Already a flattened component name (`com.x/.Service`).
  if (service.includes('/')) return service;
  if (service.startsWith('.')) return `${pkg}/${service}`;
  if (service.startsWith(`${pkg}.`)) return `${pkg}/${service.slice(pkg.length)}`;
  return `${pkg}/${service}`;
}

/**
 * `dumpsys jobscheduler`: the `Registered N jobs:` list with, per job, the
 * `JOB #<uid>/<id>: <hash> <component>` line and the details JobStatus.dump prints beneath it
 * (`Source:`, `JobInfo:` with `Service:` and `PERIODIC: interval=... flex=...`). The production
 * trigger driver parses the job lines and the periodic interval.
 */
export function dumpJobs(jobs: JobRecord[], nowRtc: number, nowElapsed: number): string {
  const lines: string[] = [
    'JOB SCHEDULER MANAGER (dumpsys jobscheduler)',
    '  Settings:',
    '    min_idle_count=1',
    '    min_charging_count=1',
    '',
    '  Started users: [0]',
  ];
  lines.push(`  Registered ${jobs.length} jobs:`);
  for (const job of jobs) {
    const uid = formatUid(job.uid);
    const component = shortComponent(job.pkg, job.service);
    const earliest = job.lastRunAt + job.periodMs - nowRtc + nowElapsed;
    lines.push(`    JOB #${uid}/${job.jobId}: ${job.hash} ${component}`);
    lines.push(`      ${uid} tag=*job*/${component}`);
    lines.push(`      Source: uid=${uid} user=0 pkg=${job.pkg}`);
    lines.push('      JobInfo:');
    lines.push(`        Service: ${component}`);
    lines.push(
      `        PERIODIC: interval=${formatDuration(job.periodMs)} flex=${formatDuration(job.periodMs)}`,
    );
    lines.push('        PERSISTED');
    lines.push('        Requires: charging=false batteryNotLow=false deviceIdle=false');
    lines.push('        Backoff: policy=1 initial=+30s0ms');
    lines.push('      Required constraints: TIMING_DELAY DEADLINE');
    lines.push('      Satisfied constraints: APP_NOT_IDLE DEVICE_NOT_DOZING');
    lines.push(`      Enqueue time: ${formatRelative(job.enqueuedElapsed, nowElapsed)}`);
    lines.push(
      `      Run time: earliest=${formatRelative(earliest, nowElapsed)}, latest=${formatRelative(earliest, nowElapsed)}`,
    );
    lines.push(
      `      Last successful run: ${job.runs > 0 ? new Date(job.lastRunAt).toISOString().replace('T', ' ').slice(0, 19) : 'none'}`,
    );
  }
  lines.push('');
  lines.push('  Pending queue:');
  lines.push('  Active jobs:');
  lines.push('    Slot #0: inactive since +1m0s0ms');
  return `${lines.join('\n')}\n`;
}
