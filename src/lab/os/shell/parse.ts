/**
 * A small POSIX-ish parser for the command lines `adb shell` hands to the device. adb joins its
 * arguments with spaces and the device's `sh` splits them again, so quoting (single quotes,
 * double quotes, backslash escapes) decides what a command sees as one argument.
 *
 * Supported: words, quotes, `;`, `&&`, `||`, `|`, redirections (`>`, `>>`, `<`, `2>`, `2>&1`),
 * `#` comments, `$?` and pathname patterns (`*`, `?`, `[...]`, expanded by ./glob.ts). Not
 * supported: variables other than `$?`, subshells.
 */

export interface Redirect {
  /** 1 stdout, 2 stderr, 0 stdin. */
  fd: 0 | 1 | 2;
  mode: 'write' | 'append' | 'read' | 'dup-stdout';
  target: string;
}

/**
 * A word with `$?` left to be expanded when the command runs. `quoted` parts came from quotes or
 * backslashes: their `*`, `?` and `[` are plain characters, not patterns.
 */
export type Word = Array<{ text: string; lastStatus?: true; quoted?: true }>;

export interface SimpleCommand {
  words: Word[];
  redirects: Redirect[];
}

/** Commands joined by `|`. */
export type Pipeline = SimpleCommand[];

export interface ListItem {
  /** How this pipeline is joined to the previous one (`;` for the first). */
  connector: ';' | '&&' | '||';
  pipeline: Pipeline;
}

export class ShellSyntaxError extends Error {
  override readonly name = 'ShellSyntaxError';
}

type Token = { kind: 'word'; word: Word } | { kind: 'op'; op: string };

const OPERATORS = ['&&', '||', '2>&1', '>>', '2>>', '2>', ';', '|', '>', '<', '&'];

function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i] ?? '';
    if (c === ' ' || c === '\t' || c === '\n') {
      // A newline separates commands just like `;`.
      if (c === '\n') tokens.push({ kind: 'op', op: ';' });
      i++;
      continue;
    }
    if (c === '#') {
      while (i < line.length && line[i] !== '\n') i++;
      continue;
    }
    const op = OPERATORS.find((o) => line.startsWith(o, i));
    // `2>` is only an operator at the start of a word.
    if (op !== undefined) {
      tokens.push({ kind: 'op', op });
      i += op.length;
      continue;
    }
    const word: Word = [];
    let text = '';
    let textQuoted = false;
    const flush = (): void => {
      if (text !== '') word.push(textQuoted ? { text, quoted: true } : { text });
      text = '';
    };
    // Quoted and unquoted text go to separate parts, so globbing knows which `*` is a pattern.
    const add = (chars: string, fromQuotes: boolean): void => {
      if (chars === '') return;
      if (text !== '' && textQuoted !== fromQuotes) flush();
      textQuoted = fromQuotes;
      text += chars;
    };
    let quoted = false;
    while (i < line.length) {
      const ch = line[i] ?? '';
      if (ch === ' ' || ch === '\t' || ch === '\n' || ch === ';' || ch === '|' || ch === '&') break;
      if (ch === '>' || ch === '<') break;
      if (ch === "'") {
        const end = line.indexOf("'", i + 1);
        if (end < 0) throw new ShellSyntaxError('unterminated quoted string');
        add(line.slice(i + 1, end), true);
        quoted = true;
        i = end + 1;
      } else if (ch === '"') {
        i++;
        quoted = true;
        while (i < line.length && line[i] !== '"') {
          const d = line[i] ?? '';
          if (d === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1] ?? '')) {
            if (line[i + 1] !== '\n') add(line[i + 1] ?? '', true);
            i += 2;
          } else if (d === '$' && line[i + 1] === '?') {
            flush();
            word.push({ text: '', lastStatus: true });
            i += 2;
          } else {
            add(d, true);
            i++;
          }
        }
        if (i >= line.length) throw new ShellSyntaxError('unterminated quoted string');
        i++;
      } else if (ch === '\\') {
        if (i + 1 < line.length && line[i + 1] !== '\n') add(line[i + 1] ?? '', true);
        i += 2;
      } else if (ch === '$' && line[i + 1] === '?') {
        flush();
        word.push({ text: '', lastStatus: true });
        i += 2;
      } else {
        add(ch, false);
        i++;
      }
    }
    flush();
    if (word.length === 0 && quoted) word.push({ text: '' });
    if (word.length > 0) tokens.push({ kind: 'word', word });
  }
  return tokens;
}

function literal(word: Word): string {
  return word.map((part) => part.text).join('');
}

/** Parses one command line into a list of pipelines. Throws ShellSyntaxError. */
export function parseCommandLine(line: string): ListItem[] {
  const tokens = tokenize(line);
  const items: ListItem[] = [];
  let connector = ';' as ListItem['connector'];
  let pipeline: Pipeline = [];
  let current: SimpleCommand = { words: [], redirects: [] };

  const endCommand = (): void => {
    if (current.words.length === 0 && current.redirects.length === 0) {
      if (pipeline.length > 0) throw new ShellSyntaxError("unexpected '|'");
      return;
    }
    pipeline.push(current);
    current = { words: [], redirects: [] };
  };
  const endPipeline = (next: ListItem['connector'], op: string): void => {
    endCommand();
    if (pipeline.length === 0) {
      if (next !== ';') throw new ShellSyntaxError(`unexpected '${op}'`);
      return;
    }
    items.push({ connector, pipeline });
    pipeline = [];
    connector = next;
  };

  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t];
    if (token === undefined) break;
    if (token.kind === 'word') {
      current.words.push(token.word);
      continue;
    }
    switch (token.op) {
      case ';':
      case '&':
        endPipeline(';', token.op);
        break;
      case '&&':
      case '||':
        endPipeline(token.op, token.op);
        break;
      case '|':
        if (current.words.length === 0) throw new ShellSyntaxError("unexpected '|'");
        endCommand();
        break;
      case '2>&1':
        current.redirects.push({ fd: 2, mode: 'dup-stdout', target: '' });
        break;
      default: {
        const next = tokens[t + 1];
        if (next?.kind !== 'word')
          throw new ShellSyntaxError(`missing file name after '${token.op}'`);
        t++;
        const target = literal(next.word);
        if (token.op === '<') current.redirects.push({ fd: 0, mode: 'read', target });
        else if (token.op === '>') current.redirects.push({ fd: 1, mode: 'write', target });
        else if (token.op === '>>') current.redirects.push({ fd: 1, mode: 'append', target });
        else if (token.op === '2>') current.redirects.push({ fd: 2, mode: 'write', target });
        else current.redirects.push({ fd: 2, mode: 'append', target });
      }
    }
  }
  if (connector !== ';' && current.words.length === 0 && pipeline.length === 0) {
    throw new ShellSyntaxError(`unexpected end of line after '${connector}'`);
  }
  endPipeline(';', ';');
  return items;
}

/** Expands a word to its text, given the exit status of the last command. */
export function expandWord(word: Word, lastStatus: number): string {
  return word.map((part) => (part.lastStatus ? String(lastStatus) : part.text)).join('');
}
