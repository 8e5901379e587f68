import { writeFile } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import type { Cookie, Entry, Har, Header, PostData } from 'har-format';
import type { Flow, HttpMessage, HttpResponseSummary } from './flow.ts';

const CREATOR = { name: 'canarytrap', version: '0.1.0' };

/**
 * HAR 1.2 of the HTTP(S) flows; flows that are not parsed HTTP have no place in HAR and are
 * left out. Bodies that are not plain UTF-8 text (compressed, encrypted, binary) are kept as
 * base64 with `encoding: "base64"`, so the bytes as sent survive the export.
 */
export function flowsToHar(flows: readonly Flow[]): Har {
  const entries = flows
    .filter((flow): flow is Flow & { request: HttpMessage } => flow.request !== undefined)
    .map(toEntry);
  return { log: { version: '1.2', creator: CREATOR, pages: [], entries } };
}

export async function writeHar(flows: readonly Flow[], path: string): Promise<void> {
  await writeFile(path, `${JSON.stringify(flowsToHar(flows), null, 2)}\n`);
}

function toEntry(flow: Flow & { request: HttpMessage }): Entry {
  const { request } = flow;
  const httpVersion = `HTTP/${request.httpVersion}`;
  const requestBody = Buffer.from(request.body, 'base64');
  const entry: Entry = {
    startedDateTime: new Date(flow.t).toISOString(),
    time: 0,
    request: {
      method: request.method,
      url: request.url,
      httpVersion,
      cookies: requestCookies(request.headers),
      headers: harHeaders(request.headers),
      queryString: queryString(request.url),
      headersSize: -1,
      bodySize: requestBody.length,
    },
    response: toResponse(flow.response, httpVersion),
    cache: {},
    // The capture keeps start times only: HAR asks for durations, which are recorded as zero.
    timings: { send: 0, wait: 0, receive: 0 },
    serverIPAddress: flow.destination.ip,
    comment: `flow ${flow.id}`,
  };
  if (requestBody.length > 0) entry.request.postData = postData(request.headers, requestBody);
  return entry;
}

function toResponse(
  response: HttpResponseSummary | undefined,
  httpVersion: string,
): Entry['response'] {
  if (response === undefined) {
    // HAR requires a response; a request that got none is shown as status 0, as browsers do.
    return {
      status: 0,
      statusText: '',
      httpVersion,
      cookies: [],
      headers: [],
      content: { size: 0, mimeType: 'x-unknown' },
      redirectURL: '',
      headersSize: -1,
      bodySize: -1,
    };
  }
  const body = Buffer.from(response.body, 'base64');
  const text = asText(body);
  const content: Entry['response']['content'] = {
    size: body.length,
    mimeType: headerValue(response.headers, 'content-type') ?? 'x-unknown',
    text: text ?? response.body,
  };
  if (text === undefined) content.encoding = 'base64';
  return {
    status: response.status,
    statusText: STATUS_CODES[response.status] ?? '',
    httpVersion,
    cookies: responseCookies(response.headers),
    headers: harHeaders(response.headers),
    content,
    redirectURL: headerValue(response.headers, 'location') ?? '',
    headersSize: -1,
    bodySize: body.length,
  };
}

function postData(headers: Array<[string, string]>, body: Buffer): PostData {
  const mimeType = headerValue(headers, 'content-type') ?? 'application/octet-stream';
  const text = asText(body);
  if (text !== undefined) return { mimeType, text };
  const encoded: PostData & { encoding: 'base64' } = {
    mimeType,
    text: body.toString('base64'),
    encoding: 'base64',
  };
  return encoded;
}

/** The body as text when it is UTF-8 without control bytes other than whitespace. */
function asText(body: Buffer): string | undefined {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    // eslint-disable-next-line no-control-regex
    return /[\u0000-\u0008\u000e-\u001f\u007f]/.test(text) ? undefined : text;
  } catch {
    return undefined;
  }
}

function harHeaders(headers: Array<[string, string]>): Header[] {
  return headers.map(([name, value]) => ({ name, value }));
}

function headerValue(headers: Array<[string, string]>, name: string): string | undefined {
  return headers.find(([key]) => key.toLowerCase() === name)?.[1];
}

function queryString(url: string): Array<{ name: string; value: string }> {
  try {
    return [...new URL(url).searchParams].map(([name, value]) => ({ name, value }));
  } catch {
    return [];
  }
}

function requestCookies(headers: Array<[string, string]>): Cookie[] {
  return headers
    .filter(([name]) => name.toLowerCase() === 'cookie')
    .flatMap(([, value]) => value.split(';'))
    .map(nameValue)
    .filter((cookie): cookie is Cookie => cookie !== undefined);
}

function responseCookies(headers: Array<[string, string]>): Cookie[] {
  return headers
    .filter(([name]) => name.toLowerCase() === 'set-cookie')
    .map(([, value]) => nameValue(value.split(';')[0] ?? ''))
    .filter((cookie): cookie is Cookie => cookie !== undefined);
}

function nameValue(pair: string): Cookie | undefined {
  const at = pair.indexOf('=');
  if (at <= 0) return undefined;
  return { name: pair.slice(0, at).trim(), value: pair.slice(at + 1).trim() };
}
