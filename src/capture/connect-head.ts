import type { Socket } from 'node:net';

/** Where a client asked to go: a name or an IP literal, and a port. */
export interface Target {
  host: string;
  port: number;
}

/** `CONNECT host:port HTTP/1.1` → { host, port }; IPv6 targets come bracketed. */
export function parseConnectTarget(head: string): Target | undefined {
  const authority = head.split('\r\n', 1)[0]?.split(' ')[1];
  if (authority === undefined) return undefined;
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(authority);
  if (!match?.[1] || !match[2]) return undefined;
  const port = Number(match[2]);
  return port > 0 && port < 65536 ? { host: match[1], port } : undefined;
}

export function formatAuthority(target: Target): string {
  return target.host.includes(':')
    ? `[${target.host}]:${target.port}`
    : `${target.host}:${target.port}`;
}

/** Reads a CONNECT reply head from `socket`; bytes after it are handed on, the socket left paused. */
export function awaitConnectReply(socket: Socket, done: (ok: boolean, rest: Buffer) => void): void {
  let reply = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    reply = Buffer.concat([reply, chunk]);
    const end = reply.indexOf('\r\n\r\n');
    if (end === -1) return;
    socket.off('data', onData);
    socket.pause();
    const statusLine = reply.subarray(0, reply.indexOf('\r\n')).toString('latin1');
    done(/^HTTP\/\d(\.\d)? 200\b/.test(statusLine), reply.subarray(end + 4));
  };
  socket.on('data', onData);
}
