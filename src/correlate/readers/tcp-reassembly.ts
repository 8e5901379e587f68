import type { TransportSegment } from './packet.ts';

/**
 * TCP streams rebuilt from segments per direction: ordered by sequence number, retransmitted and
 * overlapping bytes kept once, gaps reported.
 */
export interface Endpoint {
  ip: string;
  port: number;
}

export interface TcpConnection {
  client: Endpoint;
  server: Endpoint;
  t: number;
  /** Bytes the client sent, in order. */
  upstream: Buffer;
  downstream: Buffer;
  gaps: number;
}

interface Direction {
  isn: number | undefined;
  segments: Array<{ seq: number; data: Buffer }>;
}

interface Connection {
  t: number;
  first: Endpoint;
  second: Endpoint;
  /** Which side sent the bare SYN, if seen. */
  opener: 'first' | 'second' | undefined;
  fromFirst: Direction;
  fromSecond: Direction;
}

function key(a: Endpoint, b: Endpoint): string {
  const x = `${a.ip}|${a.port}`;
  const y = `${b.ip}|${b.port}`;
  return x < y ? `${x}>${y}` : `${y}>${x}`;
}

export class TcpReassembler {
  private readonly connections = new Map<string, Connection[]>();

  add(segment: TransportSegment, t: number): void {
    const src = { ip: segment.src, port: segment.srcPort };
    const dst = { ip: segment.dst, port: segment.dstPort };
    const id = key(src, dst);
    const list = this.connections.get(id) ?? [];
    let connection = list[list.length - 1];
    const bareSyn = segment.flags?.syn === true && !segment.flags.ack;
    // A new SYN after data on the same ports is a new connection (port reuse).
    if (
      !connection ||
      (bareSyn &&
        (connection.fromFirst.segments.length > 0 || connection.fromSecond.segments.length > 0))
    ) {
      connection = {
        t,
        first: src,
        second: dst,
        opener: undefined,
        fromFirst: { isn: undefined, segments: [] },
        fromSecond: { isn: undefined, segments: [] },
      };
      list.push(connection);
      this.connections.set(id, list);
    }
    const fromFirst = connection.first.ip === src.ip && connection.first.port === src.port;
    const direction = fromFirst ? connection.fromFirst : connection.fromSecond;
    if (segment.flags?.syn) {
      direction.isn = segment.seq;
      if (bareSyn) connection.opener = fromFirst ? 'first' : 'second';
    }
    if (segment.payload.length > 0 && segment.seq !== undefined) {
      direction.segments.push({ seq: segment.seq, data: Buffer.from(segment.payload) });
    }
  }

  connectionsInOrder(): TcpConnection[] {
    const all = [...this.connections.values()].flat().sort((a, b) => a.t - b.t);
    return all.map((c) => {
      // Without a SYN, the side on the higher (ephemeral) port is taken as the client.
      const firstIsClient = c.opener ? c.opener === 'first' : c.first.port > c.second.port;
      const up = assemble(firstIsClient ? c.fromFirst : c.fromSecond);
      const down = assemble(firstIsClient ? c.fromSecond : c.fromFirst);
      return {
        client: firstIsClient ? c.first : c.second,
        server: firstIsClient ? c.second : c.first,
        t: c.t,
        upstream: up.bytes,
        downstream: down.bytes,
        gaps: up.gaps + down.gaps,
      };
    });
  }
}

function assemble(direction: Direction): { bytes: Buffer; gaps: number } {
  if (direction.segments.length === 0) return { bytes: Buffer.alloc(0), gaps: 0 };
  const base =
    direction.isn !== undefined
      ? (direction.isn + 1) >>> 0
      : direction.segments.reduce(
          (m, s) => (((s.seq - m) | 0) < 0 ? s.seq : m),
          direction.segments[0]!.seq,
        );
  const ordered = direction.segments
    .map((s) => ({ rel: (s.seq - base) | 0, data: s.data }))
    .filter((s) => s.rel + s.data.length > 0)
    .sort((a, b) => a.rel - b.rel || b.data.length - a.data.length);
  const parts: Buffer[] = [];
  let cursor = 0;
  let gaps = 0;
  for (const s of ordered) {
    const end = s.rel + s.data.length;
    if (end <= cursor) continue;
    if (s.rel > cursor) gaps++;
    parts.push(s.data.subarray(Math.max(0, cursor - s.rel)));
    cursor = end;
  }
  return { bytes: Buffer.concat(parts), gaps };
}
