import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { InputError } from '../errors.ts';
import type { Flow } from './flow.ts';

const endpoint = z.object({ host: z.string().optional(), ip: z.string(), port: z.number().int() });
const headers = z.array(z.tuple([z.string(), z.string()]));
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64');

/** The schema of one line of `flows.jsonl`; mirrors `Flow` in flow.ts. */
export const flowSchema = z.object({
  id: z.string().min(1),
  t: z.number(),
  protocol: z.enum(['http', 'https', 'tcp', 'tls', 'udp', 'quic', 'icmp', 'dns', 'sms']),
  destination: endpoint,
  client: z
    .object({ ip: z.string(), port: z.number().int(), package: z.string().optional() })
    .optional(),
  request: z
    .object({
      method: z.string(),
      url: z.string(),
      httpVersion: z.string(),
      headers,
      body: base64,
    })
    .optional(),
  response: z.object({ status: z.number().int(), headers, body: base64 }).optional(),
  raw: base64.optional(),
  tls: z.object({ sni: z.string().optional(), decrypted: z.boolean() }).optional(),
  error: z.string().optional(),
}) satisfies z.ZodType<Flow>;

/**
 * Reads a `flows.jsonl` file, validating every line. Blank lines are skipped; a bad line is an
 * InputError naming the file and the line number.
 */
export async function readFlows(path: string): Promise<Flow[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError('flows-unreadable', `cannot read flows file ${path}`, {
      cause: error,
      hint: 'pass the flows.jsonl of a run directory',
    });
  }
  return parseFlows(text, path);
}

export function parseFlows(text: string, source: string): Flow[] {
  const flows: Flow[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    const where = `${source}:${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new InputError('flows-invalid', `${where}: not JSON`, {
        cause: error,
        hint: 'each line of a flows file must be one JSON object',
      });
    }
    const parsed = flowSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') || '(line)';
      throw new InputError(
        'flows-invalid',
        `${where}: ${field}: ${issue?.message ?? 'invalid flow'}`,
        {
          hint: 'each line must be a flow as written by canarytrap capture',
        },
      );
    }
    flows.push(parsed.data);
  }
  return flows;
}
