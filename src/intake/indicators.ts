import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CanarytrapError } from '../errors.ts';
import type { InventoryApp } from './inventory/types.ts';

/**
 * Indicator rules are data (images/rules/indicators.json): package name patterns, hosts, and
 * permission combinations. Every finding cites the evidence that matched, so a reader can check it.
 */

const patterns = z.array(z.string().min(1)).min(1);
export const indicatorRuleSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  severity: z.enum(['low', 'medium', 'high']),
  title: z.string(),
  description: z.string(),
  match: z.discriminatedUnion('type', [
    z.object({ type: z.literal('package'), patterns }),
    z.object({ type: z.literal('host'), patterns }),
    z.object({
      type: z.literal('permissions'),
      allOf: z.array(z.string()).default([]),
      anyOf: z.array(z.string()).optional(),
      sharedUserId: z.string().optional(),
    }),
  ]),
});
export const indicatorRulesSchema = z.object({
  version: z.literal(1),
  rules: z.array(indicatorRuleSchema),
});
export type IndicatorRule = z.infer<typeof indicatorRuleSchema>;
export type IndicatorRules = z.infer<typeof indicatorRulesSchema>;

export interface Evidence {
  kind: 'package' | 'host' | 'url' | 'permission' | 'sharedUserId';
  value: string;
}

export interface Finding {
  ruleId: string;
  severity: IndicatorRule['severity'];
  title: string;
  package: string;
  path: string;
  evidence: Evidence[];
}

/** The rules shipped with the project. */
export const DEFAULT_RULES_PATH = fileURLToPath(
  new URL('../../images/rules/indicators.json', import.meta.url),
);

export async function loadIndicatorRules(
  path: string = DEFAULT_RULES_PATH,
): Promise<IndicatorRules> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new CanarytrapError(
      'rules-unreadable',
      `indicator rules ${path} cannot be read as JSON`,
      {
        cause: error,
        permanent: true,
        hint: 'point indicatorRulesPath at a valid rules file',
      },
    );
  }
  const parsed = indicatorRulesSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CanarytrapError(
      'rules-invalid',
      `indicator rules ${path}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`,
      {
        permanent: true,
        hint: 'fix the rules file against src/intake/indicators.ts',
      },
    );
  }
  return parsed.data;
}

export function evaluateIndicators(
  rules: IndicatorRules,
  apps: readonly InventoryApp[],
): Finding[] {
  const findings: Finding[] = [];
  for (const app of apps) {
    for (const rule of rules.rules) {
      const evidence = match(rule, app);
      if (evidence.length > 0) {
        findings.push({
          ruleId: rule.id,
          severity: rule.severity,
          title: rule.title,
          package: app.package,
          path: app.path,
          evidence,
        });
      }
    }
  }
  return findings;
}

/** In plain words what a rule looks for, for reports. */
export function explainRule(rule: IndicatorRule): string {
  const m = rule.match;
  switch (m.type) {
    case 'package':
      return `a pre-installed package named ${m.patterns.join(' or ')}`;
    case 'host':
      return `an app whose code contains a URL on ${m.patterns.join(', ')}`;
    case 'permissions':
      return [
        `a pre-installed app requesting ${m.allOf.join(' and ') || 'any permission'}`,
        m.anyOf ? ` and one of ${m.anyOf.join(', ')}` : '',
        m.sharedUserId ? ` running as ${m.sharedUserId}` : '',
      ].join('');
  }
}

function match(rule: IndicatorRule, app: InventoryApp): Evidence[] {
  const m = rule.match;
  switch (m.type) {
    case 'package':
      return m.patterns.some((p) => glob(p, app.package))
        ? [{ kind: 'package', value: app.package }]
        : [];
    case 'host': {
      const hosts = app.hosts.filter((h) => m.patterns.some((p) => glob(p, h)));
      return hosts.flatMap((host): Evidence[] => [
        { kind: 'host', value: host },
        ...app.urls
          .filter((u) => hostMatches(u, host))
          .map((u): Evidence => ({ kind: 'url', value: u })),
      ]);
    }
    case 'permissions': {
      const held = new Set(app.permissions.map((p) => p.name));
      if (!m.allOf.every((p) => held.has(p))) return [];
      const any = m.anyOf?.filter((p) => held.has(p)) ?? [];
      if (m.anyOf && any.length === 0) return [];
      if (m.sharedUserId !== undefined && app.sharedUserId !== m.sharedUserId) return [];
      return [
        ...[...m.allOf, ...any].map((p): Evidence => ({ kind: 'permission', value: p })),
        ...(m.sharedUserId ? [{ kind: 'sharedUserId' as const, value: m.sharedUserId }] : []),
      ];
    }
  }
}

/** `*` matches any run of characters; everything else is literal, case-insensitive. */
export function glob(pattern: string, text: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 'i').test(text);
}

function hostMatches(url: string, host: string): boolean {
  try {
    return new URL(url).hostname.toLowerCase() === host;
  } catch {
    return false;
  }
}
