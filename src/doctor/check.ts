/** One piece of the host the SDK emulator path needs, as `canarytrap doctor` reports it. */
export interface CheckResult {
  /** What the piece is called on the line: `Android SDK`, `adb`, `KVM`. */
  name: string;
  ok: boolean;
  /** What was found (version, path, list), or what is wrong. */
  detail: string;
  /** For a missing piece: what it is and why canarytrap needs it. */
  what?: string;
  /** For a missing piece: how to get it, as commands where possible. */
  fix?: string;
}

export function present(name: string, detail: string): CheckResult {
  return { name, ok: true, detail };
}

export function missing(name: string, detail: string, what: string, fix: string): CheckResult {
  return { name, ok: false, detail, what, fix };
}

/** One line per piece, ✓ or ✗; under each missing one, what it is and how to get it. */
export function formatChecks(results: readonly CheckResult[]): string {
  const lines: string[] = [];
  for (const result of results) {
    lines.push(`${result.ok ? '✓' : '✗'} ${result.name}: ${result.detail}`);
    if (!result.ok) {
      if (result.what) lines.push(`    what: ${result.what}`);
      if (result.fix) lines.push(`    get it: ${result.fix}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
