import type { HostPort } from './types.ts';

/** One direction of a tracked connection. */
export interface ConntrackTuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

export interface ConntrackEntry {
  protocol: string;
  /** Seconds until the kernel forgets the entry: the larger, the more recently it was used. */
  timeout: number;
  /** TCP only: ESTABLISHED, TIME_WAIT, … */
  state: string | undefined;
  /** As the device sent it, before any redirect. */
  original: ConntrackTuple;
  /** As the reply travels; for a redirected flow its source is the capture listener. */
  reply: ConntrackTuple;
}

/**
 * Parses /proc/net/nf_conntrack (`ipv4 2 tcp 6 119 TIME_WAIT src=… dst=… sport=… dport=…
 * src=… …`) or `conntrack -L` output (the same without the two leading fields). Lines of other
 * layer-3 families and of protocols without ports (ICMP) are skipped.
 */
export function parseConntrack(text: string): ConntrackEntry[] {
  const entries: ConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    const entry = parseLine(line);
    if (entry) entries.push(entry);
  }
  return entries;
}

function parseLine(line: string): ConntrackEntry | undefined {
  const words = line.trim().split(/\s+/);
  if (words[0] === 'ipv6') return undefined;
  if (words[0] === 'ipv4') words.splice(0, 2);
  const [protocol, , timeoutWord, maybeState] = words;
  if (protocol === undefined || timeoutWord === undefined || !/^\d+$/.test(timeoutWord))
    return undefined;
  const tuples: Array<Partial<Record<keyof ConntrackTuple, string>>> = [];
  for (const word of words.slice(3)) {
    const at = word.indexOf('=');
    if (at <= 0) continue;
    const key = word.slice(0, at);
    if (key !== 'src' && key !== 'dst' && key !== 'sport' && key !== 'dport') continue;
    // A key seen again in the current tuple starts the next one (the reply direction).
    if (tuples.length === 0 || tuples[tuples.length - 1]?.[key] !== undefined) tuples.push({});
    const tuple = tuples[tuples.length - 1];
    if (tuple) tuple[key] = word.slice(at + 1);
  }
  const original = toTuple(tuples[0]);
  const reply = toTuple(tuples[1]);
  if (!original || !reply) return undefined;
  const state = maybeState !== undefined && /^[A-Z_]+$/.test(maybeState) ? maybeState : undefined;
  return { protocol, timeout: Number(timeoutWord), state, original, reply };
}

function toTuple(
  raw: Partial<Record<keyof ConntrackTuple, string>> | undefined,
): ConntrackTuple | undefined {
  if (raw?.src === undefined || raw.dst === undefined) return undefined;
  const sport = Number(raw.sport);
  const dport = Number(raw.dport);
  if (!Number.isInteger(sport) || !Number.isInteger(dport)) return undefined;
  return { src: raw.src, dst: raw.dst, sport, dport };
}

/** States of a TCP connection that is over; an entry in one of them is an older flow. */
const CLOSING = new Set(['TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'FIN_WAIT']);

/**
 * The original destination of `client`'s flow. A source port may show up twice (an old flow in
 * TIME_WAIT and a new one); the live entry wins, then the most recently used.
 */
export function findOriginalDestination(
  entries: readonly ConntrackEntry[],
  protocol: 'tcp' | 'udp',
  client: HostPort,
): HostPort | undefined {
  const matches = entries.filter(
    (e) =>
      e.protocol === protocol && e.original.src === client.ip && e.original.sport === client.port,
  );
  const rank = (e: ConntrackEntry) => (e.state !== undefined && CLOSING.has(e.state) ? 0 : 1);
  matches.sort((a, b) => rank(b) - rank(a) || b.timeout - a.timeout);
  const best = matches[0];
  return best ? { ip: best.original.dst, port: best.original.dport } : undefined;
}
