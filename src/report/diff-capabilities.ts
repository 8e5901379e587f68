/**
 * What an image can do beyond leaking canaries, compared between two runs: a vendor's "fix" may
 * stop an upload and keep the channel that can order the phone to do anything. A capability is
 * present when the image inventory's indicator findings show it (static) or the run saw it used
 * (observed); each side lists the evidence.
 */
import type { Report } from './model.ts';

export type CapabilityId =
  'remote-commands' | 'silent-installs' | 'hidden-sms' | 'remote-content-control';

/** As for canary kinds: fixed (base only), still (both), new (next only), none (neither). */
export type CapabilityStatus = 'fixed' | 'still' | 'new' | 'none';

export interface CapabilityPresence {
  present: boolean;
  /** One line per piece of evidence: "indicator …: …" or "observed: …". */
  evidence: string[];
}

export interface CapabilityDiff {
  id: CapabilityId;
  title: string;
  base: CapabilityPresence;
  next: CapabilityPresence;
  status: CapabilityStatus;
}

interface CapabilityDefinition {
  id: CapabilityId;
  title: string;
  /** Indicator rules (images/rules/indicators.json) whose findings show the capability. */
  rules: readonly string[];
  /** Hosts whose presence in an app's code, or in the traffic, shows it. */
  hosts?: readonly string[];
  /** URL paths of requests to such hosts that show it. */
  paths?: RegExp;
  /** A leak on this channel shows it (e.g. an SMS the user never saw). */
  channel?: string;
}

/**
 * The capabilities and what shows each. A command channel looks like an update check, so it is
 * recognised by its known hosts and by polling: one host asked again and again on a path named
 * for commands or tasks.
 */
const CAPABILITIES: readonly CapabilityDefinition[] = [
  {
    id: 'remote-commands',
    title: 'Remote commands',
    rules: [],
    hosts: ['rebootv5.adsunflower.com', '*.adsunflower.com'],
    paths: /\/(cmd|cmds|command|commands|task|tasks|instruction|instructions)(\/|$|\?)/i,
  },
  {
    id: 'silent-installs',
    title: 'Silent installs',
    rules: ['system-uid-installer-with-internet'],
  },
  {
    id: 'hidden-sms',
    title: 'Hidden SMS',
    rules: ['system-app-sends-sms-silently'],
    channel: 'sms',
  },
  {
    id: 'remote-content-control',
    title: 'Remotely switchable content blocking',
    rules: ['vendor-remote-content-control-hosts'],
  },
];

interface FindingLike {
  ruleId: string;
  title?: string;
  package?: string;
  evidence: Array<{ kind: string; value: string }>;
}

/** The report keeps the inventory as opaque JSON: findings are read defensively. */
function findingsOf(report: Report): FindingLike[] {
  const inventory = report.inventory;
  if (typeof inventory !== 'object' || inventory === null) return [];
  const findings = (inventory as { findings?: unknown }).findings;
  if (!Array.isArray(findings)) return [];
  return findings.flatMap((f): FindingLike[] => {
    if (typeof f !== 'object' || f === null) return [];
    const { ruleId, title, package: pkg, evidence } = f as Record<string, unknown>;
    if (typeof ruleId !== 'string') return [];
    const items = Array.isArray(evidence)
      ? evidence.flatMap((e): FindingLike['evidence'] => {
          const { kind, value } = (e ?? {}) as Record<string, unknown>;
          return typeof kind === 'string' && typeof value === 'string' ? [{ kind, value }] : [];
        })
      : [];
    return [
      {
        ruleId,
        evidence: items,
        ...(typeof title === 'string' ? { title } : {}),
        ...(typeof pkg === 'string' ? { package: pkg } : {}),
      },
    ];
  });
}

/** `*.example.com` matches subdomains only; other patterns match the whole name. */
function hostMatches(host: string, pattern: string): boolean {
  const name = host.toLowerCase();
  const p = pattern.toLowerCase();
  return p.startsWith('*.') ? name.endsWith(p.slice(1)) : name === p;
}

function hostOf(value: string): string {
  try {
    return new URL(value.includes('://') ? value : `https://${value}`).hostname;
  } catch {
    return value;
  }
}

function pathOf(url: string): string | undefined {
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}

function describeFinding(finding: FindingLike): string {
  const what = finding.evidence.map((e) => `${e.kind} ${e.value}`).join(', ');
  return `indicator ${finding.ruleId}${finding.package ? ` in ${finding.package}` : ''}${what ? `: ${what}` : ''}`;
}

function presenceIn(report: Report, capability: CapabilityDefinition): CapabilityPresence {
  const evidence: string[] = [];
  const findings = findingsOf(report);
  // Hosts the capability's own findings name: contacting one is the capability observed.
  const flaggedHosts = new Set<string>();
  for (const finding of findings) {
    const byRule = capability.rules.includes(finding.ruleId);
    const hostEvidence = finding.evidence.filter(
      (e) =>
        (e.kind === 'host' || e.kind === 'url') &&
        (capability.hosts ?? []).some((p) => hostMatches(hostOf(e.value), p)),
    );
    if (byRule) {
      evidence.push(describeFinding(finding));
      for (const e of finding.evidence)
        if (e.kind === 'host' || e.kind === 'url') flaggedHosts.add(hostOf(e.value).toLowerCase());
    } else if (hostEvidence.length > 0) {
      evidence.push(describeFinding({ ...finding, evidence: hostEvidence }));
    }
  }
  for (const destination of report.destinations) {
    const host = destination.host.toLowerCase();
    const known =
      flaggedHosts.has(host) || (capability.hosts ?? []).some((p) => hostMatches(host, p));
    const paths = capability.paths;
    const commandPaths = paths
      ? [
          ...new Set(
            report.leaks
              .filter((l) => l.destination.host?.toLowerCase() === host)
              .map((l) => (l.http ? pathOf(l.http.url) : undefined))
              .filter((p): p is string => p !== undefined && paths.test(p)),
          ),
        ]
      : [];
    // Polling: the same host asked more than once, as a command channel is.
    const polled = destination.flowCount >= 2;
    if (known && destination.flowCount > 0) {
      evidence.push(
        `observed: ${polled ? 'polled' : 'contacted'} ${destination.host} ${destination.flowCount}×${commandPaths.length > 0 ? ` (${commandPaths.join(', ')})` : ''}`,
      );
    } else if (polled && commandPaths.length > 0) {
      evidence.push(
        `observed: polled ${destination.host} ${destination.flowCount}× (${commandPaths.join(', ')})`,
      );
    }
  }
  if (capability.channel) {
    const leaks = report.leaks.filter((l) => l.destination.channel === capability.channel);
    if (leaks.length > 0) {
      const apps = [...new Set(leaks.map((l) => l.app ?? 'an unknown app'))].sort();
      evidence.push(
        `observed: ${leaks.length} canar${leaks.length === 1 ? 'y' : 'ies'} sent by ${capability.channel} from ${apps.join(', ')}`,
      );
    }
  }
  return { present: evidence.length > 0, evidence };
}

function statusOf(base: boolean, next: boolean): CapabilityStatus {
  if (base) return next ? 'still' : 'fixed';
  return next ? 'new' : 'none';
}

/** Every known capability, with its presence in each run. */
export function diffCapabilities(base: Report, next: Report): CapabilityDiff[] {
  return CAPABILITIES.map((capability) => {
    const [b, n] = [presenceIn(base, capability), presenceIn(next, capability)];
    return {
      id: capability.id,
      title: capability.title,
      base: b,
      next: n,
      status: statusOf(b.present, n.present),
    };
  });
}
