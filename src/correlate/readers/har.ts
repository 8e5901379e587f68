import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { z } from 'zod';
import type { Flow } from '../../capture/flow.ts';
import { InputError } from '../../errors.ts';
import type { CaptureReadResult } from './pcap.ts';

const nameValue = z.object({ name: z.string(), value: z.string() });
const entrySchema = z.object({
  startedDateTime: z.string(),
  serverIPAddress: z.string().optional(),
  connection: z.string().optional(),
  request: z.object({
    method: z.string(),
    url: z.string(),
    httpVersion: z.string().default('HTTP/1.1'),
    headers: z.array(nameValue).default([]),
    postData: z
      .object({
        mimeType: z.string().optional(),
        text: z.string().optional(),
        encoding: z.string().optional(),
        params: z.array(z.object({ name: z.string(), value: z.string().optional() })).optional(),
      })
      .optional(),
  }),
  response: z
    .object({
      status: z.number(),
      headers: z.array(nameValue).default([]),
      content: z
        .object({ text: z.string().optional(), encoding: z.string().optional() })
        .passthrough()
        .optional(),
    })
    .passthrough()
    .optional(),
});

/**
 * A form value as a browser sends it. JSON can hold a lone UTF-16 surrogate, which
 * encodeURIComponent refuses with a URIError; the URL standard's encoder writes U+FFFD instead.
 */
function formEncode(value: string): string {
  return encodeURIComponent(value.replace(/\p{Surrogate}/gu, '\ufffd'));
}

function postBody(postData: z.infer<typeof entrySchema>['request']['postData']): Buffer {
  if (!postData) return Buffer.alloc(0);
  if (postData.text !== undefined)
    return Buffer.from(postData.text, postData.encoding === 'base64' ? 'base64' : 'utf8');
  if (postData.params) {
    return Buffer.from(
      postData.params.map((p) => `${formEncode(p.name)}=${formEncode(p.value ?? '')}`).join('&'),
    );
  }
  return Buffer.alloc(0);
}

/** HAR 1.2 entries as flows. Entries that do not parse are skipped with a warning naming them. */
export async function readHar(path: string): Promise<CaptureReadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError('capture-unreadable', `${path}: cannot read the file`, {
      cause: error,
      hint: 'check the path and permissions',
    });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    const position = /position (\d+)/.exec(String(error))?.[1];
    throw new InputError(
      'capture-unreadable',
      `${path}: not JSON${position ? ` (syntax error at character ${position})` : ''}`,
      {
        cause: error,
        hint: 'pass a HAR 1.2 file (JSON with log.entries)',
      },
    );
  }
  const entries = (document as { log?: { entries?: unknown } } | null)?.log?.entries;
  if (!Array.isArray(entries)) {
    throw new InputError('capture-unreadable', `${path}: no log.entries array (not a HAR file)`, {
      hint: 'pass a HAR 1.2 file',
    });
  }
  const flows: Flow[] = [];
  const warnings: string[] = [];
  const prefix = basename(path);
  entries.forEach((raw, i) => {
    const parsed = entrySchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      warnings.push(
        `${path}: log.entries[${i}] skipped: ${issue ? `${issue.path.join('.')} ${issue.message}` : 'invalid'}`,
      );
      return;
    }
    const entry = parsed.data;
    let url: URL;
    try {
      url = new URL(entry.request.url);
    } catch {
      warnings.push(
        `${path}: log.entries[${i}] skipped: request.url "${entry.request.url}" is not absolute`,
      );
      return;
    }
    const https = url.protocol === 'https:';
    const port = url.port === '' ? (https ? 443 : 80) : Number(url.port);
    const t = Date.parse(entry.startedDateTime);
    const headers = entry.request.headers.map((h): [string, string] => [h.name, h.value]);
    if (
      entry.request.postData?.mimeType &&
      !headers.some(([n]) => n.toLowerCase() === 'content-type')
    ) {
      headers.push(['Content-Type', entry.request.postData.mimeType]);
    }
    const response = entry.response;
    flows.push({
      id: `${prefix}#${i}`,
      t: Number.isNaN(t) ? 0 : t,
      protocol: https ? 'https' : 'http',
      destination: { host: url.hostname, ip: entry.serverIPAddress ?? '', port },
      request: {
        method: entry.request.method,
        url: `${url.pathname}${url.search}`,
        httpVersion: entry.request.httpVersion,
        headers,
        body: postBody(entry.request.postData).toString('base64'),
      },
      ...(response
        ? {
            response: {
              status: response.status,
              headers: response.headers.map((h): [string, string] => [h.name, h.value]),
              body: Buffer.from(
                response.content?.text ?? '',
                response.content?.encoding === 'base64' ? 'base64' : 'utf8',
              ).toString('base64'),
            },
          }
        : {}),
      ...(https ? { tls: { sni: url.hostname, decrypted: true } } : {}),
    });
  });
  if (entries.length > 0 && flows.length === 0) {
    throw new InputError(
      'capture-unreadable',
      `${path}: none of the ${entries.length} entries could be read (${warnings[0] ?? ''})`,
      { hint: 'check that the file is HAR 1.2' },
    );
  }
  return { flows, warnings };
}
