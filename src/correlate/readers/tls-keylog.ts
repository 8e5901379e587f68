import { readFile } from 'node:fs/promises';
import { InputError } from '../../errors.ts';

/**
 * An NSS key log (the SSLKEYLOGFILE format browsers, OpenSSL and node's `keylog` event write):
 * one `LABEL <client random hex> <secret hex>` per line. Sessions are keyed by client random,
 * which is what ties a captured ClientHello to its secrets.
 */
export interface SessionSecrets {
  /** TLS 1.2 and older: the 48-byte master secret. */
  masterSecret?: Buffer;
  clientHandshake?: Buffer;
  serverHandshake?: Buffer;
  clientTraffic0?: Buffer;
  serverTraffic0?: Buffer;
}

export type KeyLog = ReadonlyMap<string, SessionSecrets>;

const LABELS: Record<string, keyof SessionSecrets> = {
  CLIENT_RANDOM: 'masterSecret',
  CLIENT_HANDSHAKE_TRAFFIC_SECRET: 'clientHandshake',
  SERVER_HANDSHAKE_TRAFFIC_SECRET: 'serverHandshake',
  CLIENT_TRAFFIC_SECRET_0: 'clientTraffic0',
  SERVER_TRAFFIC_SECRET_0: 'serverTraffic0',
};

export interface KeyLogParse {
  keys: KeyLog;
  warnings: string[];
}

/** Parses key log text; lines with other labels (EXPORTER_SECRET, …) are ignored, broken ones warned about. */
export function parseKeyLog(file: string, text: string): KeyLogParse {
  const keys = new Map<string, SessionSecrets>();
  const warnings: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const [label = '', random = '', secret = ''] = trimmed.split(/\s+/);
    const field = LABELS[label];
    if (field === undefined) return;
    if (!/^[0-9a-fA-F]{64}$/.test(random) || !/^(?:[0-9a-fA-F]{2}){16,}$/.test(secret)) {
      warnings.push(`${file}:${index + 1}: ${label} line is not <64 hex> <hex secret>; skipped`);
      return;
    }
    const session = keys.get(random.toLowerCase()) ?? {};
    session[field] = Buffer.from(secret, 'hex');
    keys.set(random.toLowerCase(), session);
  });
  return { keys, warnings };
}

export async function readKeyLog(path: string): Promise<KeyLogParse> {
  let text: string;
  try {
    text = await readFile(path, 'latin1');
  } catch (error) {
    throw new InputError('keylog-unreadable', `${path}: cannot read the TLS key log`, {
      cause: error,
      hint: 'pass an NSS key log file (SSLKEYLOGFILE format)',
    });
  }
  const parsed = parseKeyLog(path, text);
  if (parsed.keys.size === 0)
    throw new InputError('keylog-unreadable', `${path}: no TLS secret in the key log`, {
      hint: 'pass an NSS key log file with CLIENT_RANDOM or *_TRAFFIC_SECRET lines',
    });
  return parsed;
}
