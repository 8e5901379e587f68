import type { LabFileSystem } from '../../services.ts';
import { expandWord, type Word } from './parse.ts';

/**
 * Pathname expansion as the device's sh does it: an unquoted `*`, `?` or `[...]` in a word makes
 * it a pattern, matched component by component against the lab file system; the matches replace
 * the word, sorted. A pattern that matches nothing stays as it was written (without its quotes),
 * so `cp /empty/* x` fails in cp with the pattern in its message, as on a phone.
 */

/** One character of a pattern: `active` when it came unquoted and may be a wildcard. */
interface PatternChar {
  char: string;
  active: boolean;
}

type Component = { literal: string } | { match: RegExp; dotOk: boolean };

/** Expands `$?` and then pathname patterns; one word may become several arguments. */
export async function expandArgument(
  word: Word,
  lastStatus: number,
  fs: LabFileSystem,
): Promise<string[]> {
  const text = expandWord(word, lastStatus);
  const chars: PatternChar[] = word.flatMap((part) =>
    [...(part.lastStatus ? String(lastStatus) : part.text)].map((char) => ({
      char,
      active: !part.quoted && !part.lastStatus,
    })),
  );
  if (!chars.some((c) => c.active && (c.char === '*' || c.char === '?' || c.char === '[')))
    return [text];
  const matches = await globPaths(chars, fs);
  return matches.length === 0 ? [text] : matches;
}

async function globPaths(chars: PatternChar[], fs: LabFileSystem): Promise<string[]> {
  const absolute = chars[0]?.char === '/';
  const trailingSlash = chars.length > 1 && chars.at(-1)?.char === '/';
  const components = splitComponents(chars).map(compileComponent);
  if (!components.some((c) => 'match' in c)) return [];
  // Paths as they will be printed (relative ones stay relative), with the device path to read.
  let candidates: Array<{ shown: string; device: string }> = [
    { shown: absolute ? '/' : '', device: '/' },
  ];
  for (const component of components) {
    const next: typeof candidates = [];
    for (const candidate of candidates) {
      const join = (name: string) => ({
        shown:
          candidate.shown === '' || candidate.shown.endsWith('/')
            ? `${candidate.shown}${name}`
            : `${candidate.shown}/${name}`,
        device: candidate.device === '/' ? `/${name}` : `${candidate.device}/${name}`,
      });
      if ('literal' in component) {
        next.push(join(component.literal));
        continue;
      }
      const entries = await fs.list(candidate.device).catch(() => []);
      for (const entry of entries) {
        if (entry.name.startsWith('.') && !component.dotOk) continue;
        if (component.match.test(entry.name)) next.push(join(entry.name));
      }
    }
    candidates = next;
  }
  const found: string[] = [];
  for (const candidate of candidates) {
    const stat = await fs.stat(candidate.device);
    if (!stat) continue;
    if (trailingSlash) {
      if ((stat.mode & 0o170000) === 0o040000) found.push(`${candidate.shown}/`);
    } else found.push(candidate.shown);
  }
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function splitComponents(chars: PatternChar[]): PatternChar[][] {
  const components: PatternChar[][] = [[]];
  for (const c of chars) {
    if (c.char === '/') components.push([]);
    else components.at(-1)?.push(c);
  }
  return components.filter((c) => c.length > 0);
}

function compileComponent(chars: PatternChar[]): Component {
  let source = '';
  let wild = false;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === undefined) break;
    if (c.active && c.char === '*') {
      source += '.*';
      wild = true;
    } else if (c.active && c.char === '?') {
      source += '.';
      wild = true;
    } else if (c.active && c.char === '[') {
      const bracket = compileBracket(chars, i);
      if (bracket === undefined) source += '\\[';
      else {
        source += bracket.source;
        i = bracket.end;
        wild = true;
      }
    } else source += escapeRegExp(c.char);
  }
  if (!wild) return { literal: chars.map((c) => c.char).join('') };
  // A leading dot is matched only by a dot written in the pattern, never by a wildcard.
  return { match: new RegExp(`^${source}$`, 's'), dotOk: chars[0]?.char === '.' };
}

/** `[abc]`, `[a-z]`, `[!x]` / `[^x]`; undefined when the `[` has no closing `]`. */
function compileBracket(
  chars: PatternChar[],
  open: number,
): { source: string; end: number } | undefined {
  let i = open + 1;
  let negate = false;
  if (chars[i]?.char === '!' || chars[i]?.char === '^') {
    negate = true;
    i++;
  }
  let body = '';
  let first = true;
  for (; i < chars.length; i++) {
    const c = chars[i];
    if (c === undefined) break;
    // A `]` right after `[` or `[!` is a member, not the end.
    if (c.char === ']' && !first) return { source: `[${negate ? '^' : ''}${body}]`, end: i };
    first = false;
    const next = chars[i + 1];
    const last = chars[i + 2];
    if (next?.char === '-' && last !== undefined && last.char !== ']') {
      body += `${escapeClass(c.char)}-${escapeClass(last.char)}`;
      i += 2;
    } else body += escapeClass(c.char);
  }
  return undefined;
}

function escapeRegExp(text: string): string {
  return text.replaceAll(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function escapeClass(char: string): string {
  return /[\\\]^-]/.test(char) ? `\\${char}` : char;
}
