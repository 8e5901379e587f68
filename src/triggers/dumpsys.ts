/**
 * Parsers for `dumpsys alarm` and `dumpsys jobscheduler` as Android prints them. Only the lines
 * whose shape has held across releases are read: `Alarm{<hash> type <n> when <ms> <pkg>}` (6–12)
 * and `Alarm{<hash> type <n> origWhen <ms> ... <pkg>}` (13+); `JOB #<uid>/<id>: <hash> <pkg>/<svc>`.
 */
export interface PendingAlarm {
  pkg: string;
  /** Wall-clock ms of the next delivery (RTC alarms). */
  when: number;
  type: number;
  tag?: string;
  repeatIntervalMs?: number;
}

export interface ScheduledJob {
  pkg: string;
  jobId: number;
  service: string;
  uid: string;
}

const ALARM_LINE =
  /Alarm\{[0-9a-f]+ type (\d+) (?:when|origWhen) (-?\d+)(?: whenElapsed \S+)? ([\w.]+)\}/;

export function parseDumpsysAlarm(text: string): PendingAlarm[] {
  const alarms: PendingAlarm[] = [];
  let current: PendingAlarm | undefined;
  for (const line of text.split('\n')) {
    const head = ALARM_LINE.exec(line);
    if (head) {
      current = { type: Number(head[1]), when: Number(head[2]), pkg: head[3] ?? '' };
      alarms.push(current);
      continue;
    }
    if (!current) continue;
    const tag = /^\s+tag=(\S+)/.exec(line);
    if (tag?.[1]) current.tag = tag[1];
    const repeat = /repeatInterval=(\d+)/.exec(line);
    if (repeat?.[1]) current.repeatIntervalMs = Number(repeat[1]);
  }
  return alarms;
}

const JOB_LINE = /^\s*JOB #([\w]+)\/(-?\d+): [0-9a-f]+ ([\w.]+)\/(\S+)/;

export function parseDumpsysJobs(text: string): ScheduledJob[] {
  const jobs = new Map<string, ScheduledJob>();
  for (const line of text.split('\n')) {
    const match = JOB_LINE.exec(line);
    if (!match) continue;
    const job = {
      uid: match[1] ?? '',
      jobId: Number(match[2]),
      pkg: match[3] ?? '',
      service: match[4] ?? '',
    };
    jobs.set(`${job.pkg}/${job.jobId}`, job);
  }
  return [...jobs.values()];
}

/** RTC and RTC_WAKEUP alarms carry wall-clock times; ELAPSED ones count from boot. */
export function isWallClockAlarm(alarm: PendingAlarm): boolean {
  return alarm.type === 0 || alarm.type === 1;
}
