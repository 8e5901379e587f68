/** Processes hooked in every run: the phone's identifiers are answered from these two. */
export const SYSTEM_TARGETS = ['system_server', 'com.android.phone'] as const;

/** What choosing the processes to hook reads of a pre-installed app (intake's inventory has it). */
export interface HookCandidate {
  package: string;
  privileged: boolean;
  /** Runs as the system user (sharedUserId android.uid.system). */
  systemUid: boolean;
  permissions: ReadonlyArray<{ protection: string }>;
  bootReceivers: readonly string[];
}

export interface AttachPlanOptions {
  /** Packages named by the job: used instead of the inventory's choice. */
  override?: readonly string[];
  /** Most inventory apps to hook; hooks cost start-up time in every process. Default 25. */
  limit?: number;
}

/** How suspicious an app's reach is: privileged placement and dangerous permissions first. */
function reach(app: HookCandidate): number {
  const dangerous = app.permissions.filter((p) => p.protection === 'dangerous').length;
  const privileged = app.permissions.filter((p) => p.protection === 'privileged').length;
  return (
    (app.systemUid ? 100 : 0) +
    (app.privileged ? 50 : 0) +
    privileged * 10 +
    dangerous * 5 +
    (app.bootReceivers.length > 0 ? 3 : 0)
  );
}

/**
 * The process names to hook: system_server and com.android.phone, then the job's packages, or
 * else the image's pre-installed apps with dangerous or privileged permissions, widest reach first.
 */
export function planAttachTargets(
  apps: readonly HookCandidate[],
  options: AttachPlanOptions = {},
): string[] {
  const chosen = options.override
    ? [...options.override]
    : apps
        .filter((app) => app.permissions.some((p) => p.protection !== 'normal'))
        .map((app) => ({ app, score: reach(app) }))
        .sort((a, b) => b.score - a.score || a.app.package.localeCompare(b.app.package))
        .slice(0, options.limit ?? 25)
        .map(({ app }) => app.package);
  return [...new Set<string>([...SYSTEM_TARGETS, ...chosen])];
}

/** Whether a process (`com.x` or `com.x:remote`) belongs to one of the targets. */
export function isTarget(processName: string, targets: readonly string[]): boolean {
  const base = processName.split(':')[0] ?? processName;
  return targets.includes(processName) || targets.includes(base);
}
