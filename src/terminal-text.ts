/**
 * Text for a terminal. Model names, hosts, packages, URLs and file names come from suspect
 * firmware and captures; an escape sequence in one could retitle the user's terminal, colour or
 * erase what they read, and a bidirectional override could reorder it. Every line the CLI prints
 * from such data goes through `terminalSafe`.
 *
 * The form: a character up to U+00FF becomes `\xHH` (ESC is `\x1b`, BEL `\x07`, DEL `\x7f`, the
 * C1 CSI `\x9b`), any other becomes `\uHHHH` (`\u202e`), lower-case hex as in a JavaScript
 * string. A backslash is left as it is: the escaped form is for reading, not for decoding.
 */

/**
 * Escaped: C0 controls but tab, DEL, C1 controls, the bidirectional marks, embeddings, overrides
 * and isolates (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), and the Unicode line and
 * paragraph separators (U+2028, U+2029), which some terminals and viewers break lines on.
 */
const UNSAFE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const UNSAFE_BUT_NEWLINE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
/** What JSON.stringify leaves raw although a terminal acts on it: the C0 set is escaped already. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

function escaped(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  const hex = code.toString(16);
  return code <= 0xff ? `\\x${hex.padStart(2, '0')}` : `\\u${hex.padStart(4, '0')}`;
}

/** One line for a terminal: every unsafe character, a newline included, escaped. Idempotent. */
export function terminalSafe(text: string): string {
  return text.replaceAll(UNSAFE, escaped);
}

/** Several lines for a terminal: as `terminalSafe`, but newlines are kept. */
export function terminalSafeLines(text: string): string {
  return text.replaceAll(UNSAFE_BUT_NEWLINE, escaped);
}

/**
 * JSON for a terminal, still the same JSON: JSON.stringify escapes C0 controls but not DEL, C1 or
 * the bidirectional characters, which are written as `\u` escapes here (they only occur inside
 * strings, so the document parses to the very same value).
 */
export function terminalSafeJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replaceAll(
    UNSAFE_IN_JSON,
    (ch) => `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
}
