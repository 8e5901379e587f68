import type { Child } from './compression.ts';
import { percentDecode } from './text.ts';

const FORM_LIKE = /^[\w.\-~%[\]*]+=[^&]*(&[\w.\-~%[\]*]+=[^&]*)*&?\s*$/;

/** `a=1&b=2` fields, each value percent- and plus-decoded; `prefix` is 'form' or 'query'. */
export function fieldChildren(text: Buffer, prefix: 'form' | 'query', force = false): Child[] {
  const head = text.toString('latin1', 0, Math.min(text.length, 4096));
  if (!force && !FORM_LIKE.test(text.length <= 4096 ? head : `${head}=`)) return [];
  const children: Child[] = [];
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf(0x26, start);
    if (end === -1) end = text.length;
    const pair = text.subarray(start, end);
    const eq = pair.indexOf(0x3d);
    if (eq > 0) {
      const name = percentDecode(pair.subarray(0, eq), true).toString('utf8');
      children.push({
        transforms: [`${prefix}:${name}`],
        bytes: percentDecode(pair.subarray(eq + 1), true),
      });
    }
    start = end + 1;
  }
  return children;
}

export function queryChildren(url: string): Child[] {
  const q = url.indexOf('?');
  if (q === -1) return [];
  const hash = url.indexOf('#', q);
  return fieldChildren(
    Buffer.from(url.slice(q + 1, hash === -1 ? undefined : hash), 'latin1'),
    'query',
    true,
  );
}

export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\//i.test(contentType.trim())) return undefined;
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** The parts of a multipart body, named by their Content-Disposition name. */
export function multipartChildren(body: Buffer, boundary: string): Child[] {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const children: Child[] = [];
  let at = body.indexOf(delimiter);
  while (at !== -1 && children.length < 1000) {
    const partStart = at + delimiter.length;
    if (body[partStart] === 0x2d && body[partStart + 1] === 0x2d) break;
    const next = body.indexOf(delimiter, partStart);
    const part = body.subarray(partStart, next === -1 ? body.length : next);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd !== -1) {
      const headers = part.subarray(0, headerEnd).toString('latin1');
      let content = part.subarray(headerEnd + 4);
      if (
        content.length >= 2 &&
        content[content.length - 2] === 0x0d &&
        content[content.length - 1] === 0x0a
      ) {
        content = content.subarray(0, content.length - 2);
      }
      const name = /name="([^"]*)"/i.exec(headers)?.[1] ?? String(children.length);
      const transferBase64 = /content-transfer-encoding:\s*base64/i.test(headers);
      children.push({
        transforms: transferBase64 ? [`multipart:${name}`, 'base64'] : [`multipart:${name}`],
        bytes: transferBase64 ? Buffer.from(content.toString('latin1'), 'base64') : content,
      });
    }
    at = next;
  }
  return children;
}

/** A chunked transfer-coded body decoded; undefined when it is not chunked framing. */
export function dechunk(body: Buffer): { bytes: Buffer; complete: boolean } | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd === -1)
      return parts.length > 0 ? { bytes: Buffer.concat(parts), complete: false } : undefined;
    const sizeText = body.toString('latin1', at, lineEnd).split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText))
      return parts.length > 0 ? { bytes: Buffer.concat(parts), complete: false } : undefined;
    const size = parseInt(sizeText, 16);
    if (size === 0) return { bytes: Buffer.concat(parts), complete: true };
    const dataStart = lineEnd + 2;
    parts.push(body.subarray(dataStart, Math.min(body.length, dataStart + size)));
    if (dataStart + size > body.length) return { bytes: Buffer.concat(parts), complete: false };
    at = dataStart + size + 2;
  }
}
