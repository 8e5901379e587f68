import type { IncomingMessage, ServerResponse } from 'node:http';
import { CanarytrapError, isCanarytrapError } from '../errors.ts';

/**
 * A CanarytrapError the API answers with a status of its own (415, 413, 409…). Everything else
 * maps by code in errorResponse, so data readers throw plain CanarytrapErrors, not HTTP ones.
 */
export class ApiError extends CanarytrapError {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(code, message, { permanent: true, expected: status < 500 });
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
  });
  res.end(html);
}

export function redirect(
  res: ServerResponse,
  location: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(303, { location, ...headers });
  res.end();
}

/**
 * The error body every route uses: `{ error: { code, message } }`. Input errors from the shared
 * image checks are the client's fault (400); anything unexpected is a 500 without internals.
 */
export function errorResponse(error: unknown): { status: number; code: string; message: string } {
  if (error instanceof ApiError)
    return { status: error.status, code: error.code, message: error.message };
  if (isCanarytrapError(error) && error.expected) {
    const status = error.code === 'file-missing' || error.code.endsWith('not-found') ? 404 : 400;
    return {
      status,
      code: error.code,
      message: error.hint ? `${error.message} (${error.hint})` : error.message,
    };
  }
  // The shared run store cannot be reached: the run is not lost, the request may be retried.
  if (isCanarytrapError(error) && error.code === 'store-unavailable')
    return {
      status: 503,
      code: error.code,
      message: 'the shared run store cannot be reached; try again (the server log says why)',
    };
  return { status: 500, code: 'internal-error', message: 'the server failed; see its log' };
}

export function sendError(res: ServerResponse, error: unknown): void {
  const { status, code, message } = errorResponse(error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { error: { code, message } });
}

/** Reads a small JSON body; anything larger than `limit` or not JSON is refused before use. */
export async function readJsonBody(req: IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/json')) {
    throw new ApiError(415, 'content-type-unsupported', `expected application/json, got "${type}"`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit)
      throw new ApiError(413, 'body-too-large', `a JSON body may have at most ${limit} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new ApiError(400, 'body-malformed', 'the request body is not valid JSON');
  }
}

/** Reads an urlencoded form body (the pages' small forms). */
export async function readFormBody(
  req: IncomingMessage,
  limit = 16 * 1024,
): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit)
      throw new ApiError(413, 'body-too-large', `a form may have at most ${limit} bytes`);
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
