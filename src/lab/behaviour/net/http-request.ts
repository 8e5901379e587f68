import type { SendSpec } from '../../../android/lab-image.ts';
import { payloadQuery, type Payload } from '../collect.ts';

export type HttpSend = Extract<SendSpec, { channel: 'http' | 'https' }>;

export interface HttpRequest {
  method: string;
  /** The URL as the app asked for it (scheme, send.host, port where not the default, path, query). */
  url: string;
  headers: Array<[string, string]>;
  body: Buffer | undefined;
  /** The request exactly as written to the connection. */
  bytes: Buffer;
}

export function defaultPort(send: HttpSend): number {
  return send.port ?? (send.channel === 'https' ? 443 : 80);
}

/**
 * The HTTP/1.1 request an app's HttpURLConnection would write for this send: the encoded
 * payload carried as the whole body, one form field or one JSON field, or (carry `query`) the
 * collected fields in the query string. `Connection: close` because the app makes one request
 * per connection here, which also tells the server when the response is over.
 */
export function buildHttpRequest(
  send: HttpSend,
  payload: Payload,
  encoded: Buffer,
  userAgent: string,
): HttpRequest {
  const port = defaultPort(send);
  const authority =
    port === (send.channel === 'https' ? 443 : 80) ? send.host : `${send.host}:${port}`;
  let target = send.path;
  let body: Buffer | undefined;
  let contentType: string | undefined;
  switch (send.carry.as) {
    case 'body':
      body = encoded;
      contentType = send.carry.contentType;
      break;
    case 'form':
      body = Buffer.from(
        new URLSearchParams([
          ...Object.entries(send.carry.fields ?? {}),
          [send.carry.field, encoded.toString('utf8')],
        ]).toString(),
        'utf8',
      );
      contentType = 'application/x-www-form-urlencoded';
      break;
    case 'json':
      body = Buffer.from(JSON.stringify({ [send.carry.field]: encoded.toString('utf8') }), 'utf8');
      contentType = 'application/json; charset=utf-8';
      break;
    case 'query': {
      const query = payloadQuery(payload);
      if (query !== '') target = `${target}${target.includes('?') ? '&' : '?'}${query}`;
      break;
    }
  }
  const headers: Array<[string, string]> = [];
  if (contentType !== undefined) headers.push(['Content-Type', contentType]);
  headers.push(
    ['User-Agent', userAgent],
    ['Host', authority],
    ['Connection', 'close'],
    ['Accept-Encoding', 'gzip'],
  );
  for (const [name, value] of Object.entries(send.headers ?? {})) {
    const existing = headers.findIndex(([known]) => known.toLowerCase() === name.toLowerCase());
    if (existing === -1) headers.push([name, value]);
    else headers[existing] = [name, value];
  }
  if (body !== undefined) headers.push(['Content-Length', String(body.length)]);
  const head = `${send.method} ${target} HTTP/1.1\r\n${headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
  const bytes =
    body === undefined
      ? Buffer.from(head, 'latin1')
      : Buffer.concat([Buffer.from(head, 'latin1'), body]);
  return {
    method: send.method,
    url: `${send.channel}://${authority}${target}`,
    headers,
    body,
    bytes,
  };
}

/** The User-Agent of Android's HttpURLConnection (Dalvik's http.agent). */
export function dalvikUserAgent(release: string, model: string, buildId: string): string {
  return `Dalvik/2.1.0 (Linux; U; Android ${release}; ${model} Build/${buildId})`;
}
