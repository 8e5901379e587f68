import type { HttpMessage, HttpResponseSummary } from '../../capture/flow.ts';

/** HTTP/1.x messages parsed out of one direction of a TCP stream. Bodies stay as sent. */
export interface ParsedRequest extends Omit<HttpMessage, 'body'> {
  body: Buffer;
  /** Offset of the request line in the stream. */
  offset: number;
  /** The body ended before its declared length (capture cut, lost segments). */
  truncated: boolean;
}

const REQUEST_LINE = /^([A-Z][A-Z-]{1,15}) (\S+) HTTP\/(\d\.\d)$/;
const STATUS_LINE = /^HTTP\/(\d\.\d) (\d{3})(?: .*)?$/;

export function looksLikeHttpRequest(stream: Buffer): boolean {
  const lineEnd = stream.indexOf('\r\n');
  return lineEnd > 0 && lineEnd < 8192 && REQUEST_LINE.test(stream.toString('latin1', 0, lineEnd));
}

function parseHeaders(block: string): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return headers;
}

function header(headers: Array<[string, string]>, name: string): string | undefined {
  return headers.find(([n]) => n.toLowerCase() === name)?.[1];
}

/** End of a chunked body starting at `at` (after the final CRLF), or undefined if it is cut. */
function chunkedEnd(stream: Buffer, at: number): number | undefined {
  for (;;) {
    const lineEnd = stream.indexOf('\r\n', at);
    if (lineEnd === -1) return undefined;
    const size = parseInt(stream.toString('latin1', at, lineEnd).split(';')[0]!.trim(), 16);
    if (Number.isNaN(size)) return undefined;
    if (size === 0) {
      // Trailers, then an empty line.
      const end = stream.indexOf('\r\n\r\n', lineEnd);
      if (end === lineEnd) return lineEnd + 4;
      return end === -1 ? Math.min(stream.length, lineEnd + 4) : end + 4;
    }
    at = lineEnd + 2 + size + 2;
    if (at > stream.length) return undefined;
  }
}

interface Head {
  startLine: string;
  headers: Array<[string, string]>;
  bodyStart: number;
  bodyEnd: number;
  truncated: boolean;
}

function parseHead(stream: Buffer, at: number, isRequest: boolean): Head | undefined {
  const headEnd = stream.indexOf('\r\n\r\n', at);
  if (headEnd === -1) return undefined;
  const block = stream.toString('latin1', at, headEnd);
  const lineEnd = block.indexOf('\r\n');
  const startLine = lineEnd === -1 ? block : block.slice(0, lineEnd);
  const headers = parseHeaders(lineEnd === -1 ? '' : block.slice(lineEnd + 2));
  const bodyStart = headEnd + 4;
  const te = header(headers, 'transfer-encoding');
  const cl = header(headers, 'content-length');
  let bodyEnd = bodyStart;
  let truncated = false;
  if (te && /chunked/i.test(te)) {
    const end = chunkedEnd(stream, bodyStart);
    truncated = end === undefined;
    bodyEnd = end ?? stream.length;
  } else if (cl !== undefined && /^\d+$/.test(cl)) {
    bodyEnd = bodyStart + Number(cl);
    if (bodyEnd > stream.length) {
      truncated = true;
      bodyEnd = stream.length;
    }
  } else if (!isRequest) {
    bodyEnd = stream.length;
  }
  return { startLine, headers, bodyStart, bodyEnd, truncated };
}

/** Requests of a client stream; the bytes after the last full request head come back as `rest`. */
export function parseRequests(stream: Buffer): { requests: ParsedRequest[]; rest: Buffer } {
  const requests: ParsedRequest[] = [];
  let at = 0;
  while (at < stream.length) {
    const head = parseHead(stream, at, true);
    const match = head ? REQUEST_LINE.exec(head.startLine) : null;
    if (!head || !match) break;
    requests.push({
      method: match[1]!,
      url: match[2]!,
      httpVersion: `HTTP/${match[3]!}`,
      headers: head.headers,
      body: stream.subarray(head.bodyStart, head.bodyEnd),
      offset: at,
      truncated: head.truncated,
    });
    at = head.bodyEnd;
  }
  return { requests, rest: stream.subarray(at) };
}

/** Responses of a server stream, in order, bodies as sent. */
export function parseResponses(stream: Buffer): Array<HttpResponseSummary & { bodyBytes: Buffer }> {
  const responses: Array<HttpResponseSummary & { bodyBytes: Buffer }> = [];
  let at = 0;
  while (at < stream.length) {
    const head = parseHead(stream, at, false);
    const match = head ? STATUS_LINE.exec(head.startLine) : null;
    if (!head || !match) break;
    const cl = header(head.headers, 'content-length');
    const te = header(head.headers, 'transfer-encoding');
    // A response without length runs to the end of the stream only when nothing else framed it.
    const end = cl === undefined && !(te && /chunked/i.test(te)) ? head.bodyStart : head.bodyEnd;
    const bodyBytes = stream.subarray(head.bodyStart, end);
    responses.push({
      status: Number(match[2]),
      headers: head.headers,
      body: bodyBytes.toString('base64'),
      bodyBytes,
    });
    at = end;
  }
  return responses;
}
