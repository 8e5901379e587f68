import type { Duplex } from 'node:stream';
import { CanarytrapError } from '../../../errors.ts';

export interface HttpResponse {
  status: number;
  /** Every byte the server sent, head and body as on the wire. */
  raw: Buffer;
}

/**
 * Reads one HTTP/1.1 response to the end, as an app reading the whole body does: by
 * Content-Length, by chunked framing, or until the server closes. Any status counts as read;
 * what the server answered is not the app's leak.
 */
export async function readHttpResponse(
  stream: Duplex,
  requestMethod: string,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    let raw = Buffer.alloc(0);
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onEnd);
      if (error !== undefined) return reject(error);
      const status = parseStatus(finalResponse(raw));
      if (status === undefined)
        return reject(
          new CanarytrapError(
            'lab-http-bad-response',
            'the server closed without an HTTP response',
          ),
        );
      resolve({ status, raw });
    };
    const onData = (chunk: Buffer): void => {
      raw = Buffer.concat([raw, chunk]);
      if (isComplete(raw, requestMethod)) finish();
    };
    const onEnd = (): void => finish();
    const onError = (error: Error): void => finish(error);
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onError);
    stream.resume();
  });
}

function parseStatus(raw: Buffer): number | undefined {
  const lineEnd = raw.indexOf('\r\n');
  if (lineEnd === -1) return undefined;
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(raw.subarray(0, lineEnd).toString('latin1'));
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** The bytes from the final response on: 1xx heads are interim, the real response follows them. */
function finalResponse(raw: Buffer): Buffer {
  let rest = raw;
  for (;;) {
    const status = parseStatus(rest);
    const headEnd = rest.indexOf('\r\n\r\n');
    if (status === undefined || status >= 200 || headEnd === -1) return rest;
    rest = rest.subarray(headEnd + 4);
  }
}

/** Whether `raw` holds a whole response; false means "read on until the server closes". */
function isComplete(whole: Buffer, requestMethod: string): boolean {
  const raw = finalResponse(whole);
  const headEnd = raw.indexOf('\r\n\r\n');
  if (headEnd === -1) return false;
  const status = parseStatus(raw);
  if (status === undefined || status < 200) return false;
  if (requestMethod === 'HEAD' || status === 204 || status === 304) return true;
  const head = raw.subarray(0, headEnd).toString('latin1').toLowerCase();
  const body = raw.subarray(headEnd + 4);
  if (/\r\ntransfer-encoding:[^\r\n]*chunked/.test(head)) return chunkedComplete(body);
  const length = /\r\ncontent-length:\s*(\d+)/.exec(head)?.[1];
  if (length !== undefined) return body.length >= Number(length);
  return false;
}

/** Walks the chunk sizes; complete once the zero-size chunk and the trailer's blank line are in. */
function chunkedComplete(body: Buffer): boolean {
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd === -1) return false;
    const size = Number.parseInt(
      body.subarray(at, lineEnd).toString('latin1').split(';')[0] ?? '',
      16,
    );
    if (Number.isNaN(size)) return false;
    // "0\r\n" then optional trailer lines then a blank line: the \r\n ending the size line
    // and the final \r\n meet when there are no trailers.
    if (size === 0) return body.indexOf('\r\n\r\n', lineEnd) !== -1;
    at = lineEnd + 2 + size + 2;
    if (at > body.length) return false;
  }
}
