/**
 * Building HTML where escaping is the default. Everything in a report comes from suspect
 * firmware (host names, URLs, payload excerpts, package names), so every interpolated value is
 * escaped unless it is already SafeHtml made by this module.
 */

/** A fragment of HTML that was built here, with every value in it escaped. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue =
  SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const entities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML content and for double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replaceAll(/[&<>"']/g, (ch) => entities[ch] ?? ch);
}

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map((v: HtmlValue) => render(v)).join('');
  if (value === null || value === undefined || value === false || value === true) return '';
  return escapeHtml(String(value));
}

/**
 * Tagged template: markup`<td>${text}</td>` escapes `text`; nested markup`` fragments are kept as
 * they are. (Not named `html`: the formatter would reflow the markup, and whitespace inside
 * pre-wrapped cells is content.)
 */
export function markup(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i += 1) {
    out += render(values[i]) + (strings[i + 1] ?? '');
  }
  return new SafeHtml(out);
}

/** "2016-11-15 10:23:45Z": UTC, so a page reads the same wherever it is opened. */
export function formatTime(t: number): string {
  // Date throws on values past ±8.64e15 ms; a report is data and must render whatever it holds.
  if (!Number.isFinite(t) || Math.abs(t) > 8.64e15) return String(t);
  const iso = new Date(t).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Cuts long text so one hostile URL or excerpt cannot blow up the page. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** The transforms of a leak from the wire inward: "tls → gzip → base64 → aes-128-cbc → json". */
export function transformChain(transforms: readonly string[]): string {
  return transforms.length === 0 ? 'plain' : transforms.join(' → ');
}

/**
 * An excerpt with the matched text marked. The match is looked up in the excerpt itself (the
 * correlator gives offsets into the decoded layer, not into the excerpt); where it is not found
 * the excerpt is shown unmarked rather than guessed at.
 */
export function highlightExcerpt(
  excerpt: string,
  candidates: readonly string[],
  maxAround = 160,
): SafeHtml {
  for (const needle of candidates) {
    if (needle.length === 0) continue;
    const at = excerpt.indexOf(needle);
    if (at < 0) continue;
    const before = excerpt.slice(Math.max(0, at - maxAround), at);
    const after = excerpt.slice(at + needle.length, at + needle.length + maxAround);
    return markup`${at > maxAround ? '…' : ''}${before}<mark>${truncate(needle, 400)}</mark>${after}${
      at + needle.length + maxAround < excerpt.length ? '…' : ''
    }`;
  }
  return markup`${truncate(excerpt, maxAround * 2)}`;
}

/** Rows beyond `limit` are dropped, and the caller says so on the page. */
export function limitRows<T>(
  rows: readonly T[],
  limit: number,
): { shown: readonly T[]; hidden: number } {
  return { shown: rows.slice(0, limit), hidden: Math.max(0, rows.length - limit) };
}
