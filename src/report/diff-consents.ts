/**
 * Consent decisions compared across two runs. When the same image runs twice with a consent
 * flipped, that flip is the likely cause of whatever changed, and the diff says so first.
 */
import type { Report } from './model.ts';

export interface ConsentChange {
  name: string;
  /** The decision in each run; absent where that run's plan did not know the consent. */
  base?: 'accept' | 'refuse';
  next?: 'accept' | 'refuse';
  /** "consent experience-programme: accepted → refused". */
  text: string;
}

const WORDS = { accept: 'accepted', refuse: 'refused' } as const;

function decisions(report: Report): Map<string, 'accept' | 'refuse'> {
  // A consent no screen asked for was not given either way: it does not explain a change.
  return new Map(
    (report.ui?.consents ?? []).filter((c) => c.shown).map((c) => [c.name, c.decision]),
  );
}

/** Consents decided differently in the two runs, in the base run's order. */
export function consentChanges(base: Report, next: Report): ConsentChange[] {
  if (!base.ui || !next.ui) return [];
  const [a, b] = [decisions(base), decisions(next)];
  const names = [...new Set([...a.keys(), ...b.keys()])];
  const changes: ConsentChange[] = [];
  for (const name of names) {
    const [before, after] = [a.get(name), b.get(name)];
    if (before === after) continue;
    changes.push({
      name,
      ...(before ? { base: before } : {}),
      ...(after ? { next: after } : {}),
      text: `consent ${name}: ${before ? WORDS[before] : 'not asked'} → ${after ? WORDS[after] : 'not asked'}`,
    });
  }
  return changes;
}

/** Why the comparison of UI-driven runs may mislead. */
export function uiWarnings(base: Report, next: Report): string[] {
  if (Boolean(base.ui) === Boolean(next.ui)) return [];
  const which = base.ui ? 'next' : 'base';
  return [
    `the UI was driven in one run only (not in the ${which} run), so setup screens and consents may explain the difference`,
  ];
}

/** The sentence that names the consents as the likely cause of the fixed and new leaks. */
export function consentCause(
  changes: readonly ConsentChange[],
  fixed: number,
  added: number,
): string | undefined {
  if (changes.length === 0) return undefined;
  const named = changes.map((c) => c.text).join('; ');
  const effect =
    fixed + added === 0
      ? 'with no change in what leaked'
      : `the likely cause of the ${fixed} fixed and ${added} new leaking canary kinds`;
  return `${named} — ${effect}`;
}
