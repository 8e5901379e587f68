import assert from 'node:assert/strict';
import { test } from 'node:test';
import { terminalSafe, terminalSafeJson, terminalSafeLines } from '../../src/terminal-text.ts';

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

const C0 = range(0x00, 0x1f);
const C1 = range(0x80, 0x9f);
const BIDI = [0x061c, 0x200e, 0x200f, ...range(0x202a, 0x202e), ...range(0x2066, 0x2069)];
const SEPARATORS = [0x2028, 0x2029];

/** Any character a terminal acts on rather than shows, as terminal-text.ts lists them. */
const ACTIVE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

test('every C0 control but tab, DEL and every C1 control become \\xHH', () => {
  for (const code of [...C0.filter((c) => c !== 0x09), 0x7f, ...C1]) {
    const out = terminalSafe(`a${String.fromCodePoint(code)}b`);
    assert.equal(out, `a\\x${code.toString(16).padStart(2, '0')}b`, `U+${code.toString(16)}`);
  }
  assert.equal(terminalSafe('a\tb'), 'a\tb', 'a tab is kept');
});

test('bidirectional marks, embeddings, overrides, isolates and separators become \\uHHHH', () => {
  for (const code of [...BIDI, ...SEPARATORS]) {
    const out = terminalSafe(`a${String.fromCodePoint(code)}b`);
    assert.equal(out, `a\\u${code.toString(16).padStart(4, '0')}b`, `U+${code.toString(16)}`);
  }
});

test('an ESC-laden model name reads as text and keeps no active character', () => {
  const model = '\u001b]0;pwned\u0007\u001b[31;1mRED\u009b2J\u202egnp.exe';
  const out = terminalSafe(model);
  assert.equal(out, '\\x1b]0;pwned\\x07\\x1b[31;1mRED\\x9b2J\\u202egnp.exe');
  assert.doesNotMatch(out, ACTIVE);
});

test('normal text is unchanged: UTF-8 letters, CJK, emoji, combining marks, backslashes, tabs', () => {
  for (const text of [
    'Redmi Note 9 Pro',
    'Ünïcödé façade — “quoted” ‘text’ …',
    '小米手机 ギャラクシー 삼성',
    'emoji 📱🔒 and a flag 🇱🇹',
    'e\u0301 combining, zero\u200bwidth space, NBSP\u00a0here, soft\u00adhyphen',
    'C:\\path\\x1b already escaped',
    'column\tcolumn',
    'العربية עברית',
    '',
  ])
    assert.equal(terminalSafe(text), text);
});

test('escaping is idempotent, so a line may embed another escaped line', () => {
  const once = terminalSafe('\u001b[2J\u202e\n');
  assert.equal(terminalSafe(once), once);
  assert.equal(terminalSafeLines(once), once);
});

test('terminalSafeLines keeps newlines and tabs, escapes the rest (a CR included)', () => {
  assert.equal(terminalSafeLines('one\ntwo\tx\r\n\u001b[31m'), 'one\ntwo\tx\\x0d\n\\x1b[31m');
  assert.equal(terminalSafe('one\ntwo'), 'one\\x0atwo');
});

test('terminalSafeJson is the same JSON with no active character left', () => {
  const every = [...C0, 0x7f, ...C1, ...BIDI, ...SEPARATORS].map((c) => String.fromCodePoint(c));
  const value = { model: every.join(''), list: ['a\u202eb', 'plain', 'ü 📱'], n: 3 };
  const json = terminalSafeJson(value);
  assert.doesNotMatch(json.replaceAll('\n', ' '), ACTIVE);
  assert.deepEqual(JSON.parse(json), value);
  assert.equal(terminalSafeJson({ a: 'plain' }), JSON.stringify({ a: 'plain' }, null, 2));
});
