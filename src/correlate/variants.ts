import { createHash } from 'node:crypto';
import type { Canary } from '../canary/types.ts';
import { FINGERPRINTED_KINDS, valueForms, type ValueForm } from './forms.ts';

/**
 * Every byte string under which a canary may appear on the wire without a decoder running: its
 * written forms, each in text encodings (percent, form, JSON escapes, hex, UTF-16, base64 at the
 * three byte alignments), plus hashes of identifiers. Expanded once per correlation.
 */
export interface Variant {
  canaryIndex: number;
  bytes: Buffer;
  caseInsensitive: boolean;
  /** e.g. 'e164', 'imei/base64@1', 'as-given/sha256-hex'. */
  label: string;
  /** Encodings between the layer and the value, outermost first, e.g. ['hex', 'sha256']. */
  transforms: string[];
  confidence: number;
  part?: { index: number; of: number };
}

/** Characters of base64(prefix of `align` bytes + value) that only depend on the value's bytes. */
export function base64Core(value: Buffer, align: number, urlSafe: boolean): string {
  const encoded = Buffer.concat([Buffer.alloc(align), value]).toString(
    urlSafe ? 'base64url' : 'base64',
  );
  const first = Math.ceil((8 * align) / 6);
  const last = Math.floor((8 * (align + value.length)) / 6);
  return encoded.slice(first, last);
}

function utf16be(text: string): Buffer {
  const le = Buffer.from(text, 'utf16le');
  for (let i = 0; i + 1 < le.length; i += 2) {
    const t = le[i]!;
    le[i] = le[i + 1]!;
    le[i + 1] = t;
  }
  return le;
}

function percentAll(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) out += `%${b.toString(16).padStart(2, '0').toUpperCase()}`;
  return out;
}

function jsonEscapeAll(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code > 0xffff) out += ch;
    else out += `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return out;
}

interface Draft {
  bytes: Buffer;
  caseInsensitive: boolean;
  label: string;
  transforms: string[];
  confidence: number;
}

function encodingsOf(form: ValueForm): Draft[] {
  const text = form.text;
  const utf8 = Buffer.from(text, 'utf8');
  const drafts: Draft[] = [
    { bytes: utf8, caseInsensitive: true, label: form.label, transforms: [], confidence: 1 },
  ];
  const add = (
    s: string | Buffer,
    label: string,
    transforms: string[],
    caseInsensitive = true,
  ): void => {
    drafts.push({
      bytes: typeof s === 'string' ? Buffer.from(s, 'utf8') : s,
      caseInsensitive,
      label: `${form.label}/${label}`,
      transforms,
      confidence: 1,
    });
  };
  add(encodeURIComponent(text), 'percent', ['percent']);
  add(encodeURIComponent(text).replaceAll('%20', '+'), 'form', ['percent']);
  const json = JSON.stringify(text).slice(1, -1);
  add(json, 'json-escape', ['json-escape']);
  add(json.replaceAll('/', '\\/'), 'json-escape-slash', ['json-escape']);
  if (!form.primary) return drafts;
  add(percentAll(utf8), 'percent-all', ['percent']);
  add(jsonEscapeAll(text), 'json-unicode', ['json-escape']);
  add(utf8.toString('hex'), 'hex', ['hex']);
  add(Buffer.from(text, 'utf16le'), 'utf-16le', ['utf-16le']);
  add(utf16be(text), 'utf-16be', ['utf-16be']);
  for (let align = 0; align < 3; align++) {
    add(base64Core(utf8, align, false), `base64@${align}`, ['base64'], false);
    add(base64Core(utf8, align, true), `base64url@${align}`, ['base64'], false);
  }
  return drafts;
}

/** MD5, SHA-1 and SHA-256 of an identifier form, in hex and base64. */
function fingerprintsOf(form: ValueForm, texts: string[]): Draft[] {
  const drafts: Draft[] = [];
  for (const text of texts) {
    for (const algorithm of ['md5', 'sha1', 'sha256'] as const) {
      const digest = createHash(algorithm).update(text, 'utf8').digest();
      const name = algorithm === 'sha1' ? 'sha-1' : algorithm === 'sha256' ? 'sha-256' : 'md5';
      const common = { confidence: 0.9 };
      drafts.push({
        ...common,
        bytes: Buffer.from(digest.toString('hex')),
        caseInsensitive: true,
        label: `${form.label}/${name}-hex`,
        transforms: ['hex', name],
      });
      drafts.push({
        ...common,
        bytes: Buffer.from(digest.toString('base64').replace(/=+$/, '')),
        caseInsensitive: false,
        label: `${form.label}/${name}-base64`,
        transforms: ['base64', name],
      });
      drafts.push({
        ...common,
        bytes: Buffer.from(digest.toString('base64url')),
        caseInsensitive: false,
        label: `${form.label}/${name}-base64url`,
        transforms: ['base64', name],
      });
    }
  }
  return drafts;
}

export function expandCanary(canary: Canary, canaryIndex: number): Variant[] {
  const seen = new Set<string>();
  const variants: Variant[] = [];
  for (const form of valueForms(canary)) {
    const drafts = encodingsOf(form);
    if (form.primary && FINGERPRINTED_KINDS.has(canary.kind)) {
      const texts = [...new Set([form.text, form.text.toLowerCase(), form.text.toUpperCase()])];
      drafts.push(...fingerprintsOf(form, texts));
    }
    for (const d of drafts) {
      const key = `${d.caseInsensitive ? d.bytes.toString('latin1').toLowerCase() : d.bytes.toString('latin1')}|${d.caseInsensitive}`;
      if (d.bytes.length === 0 || seen.has(key)) continue;
      seen.add(key);
      variants.push({ canaryIndex, ...d, ...(form.part ? { part: form.part } : {}) });
    }
  }
  return variants;
}

export function expandCanaries(canaries: readonly Canary[]): Variant[] {
  return canaries.flatMap((c, i) => expandCanary(c, i));
}
