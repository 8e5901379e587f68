import { randomInt } from 'node:crypto';

/** QTYPE A and QCLASS IN: what a stub resolver asks for an IPv4 address. */
const TYPE_A = 1;
const CLASS_IN = 1;
/** Recursion desired, as every stub resolver sets it. */
const FLAG_RD = 0x0100;
const FLAG_QR = 0x8000;

/** A random message id, as resolvers pick one against spoofed answers. */
export function randomQueryId(): number {
  return randomInt(0x10000);
}

/**
 * One A query for `name` in DNS wire format (RFC 1035): the header with one question, then the
 * name as length-prefixed labels. The caller has checked the labels' lengths (dnsQueryNames).
 */
export function dnsQuery(name: string, id: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(FLAG_RD, 2);
  header.writeUInt16BE(1, 4);
  const labels = name
    .replace(/\.$/, '')
    .split('.')
    .map((label) => {
      const bytes = Buffer.from(label, 'latin1');
      return Buffer.concat([Buffer.from([bytes.length]), bytes]);
    });
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(TYPE_A, 1);
  tail.writeUInt16BE(CLASS_IN, 3);
  return Buffer.concat([header, ...labels, tail]);
}

/**
 * The answer count of a reply to query `id`, or undefined when `reply` is no DNS response to it
 * (too short, another id, not a response). A response with an error code still counts as an
 * answer: the server saw the name.
 */
export function dnsAnswerCount(reply: Buffer, id: number): number | undefined {
  if (reply.length < 12) return undefined;
  if (reply.readUInt16BE(0) !== id) return undefined;
  if ((reply.readUInt16BE(2) & FLAG_QR) === 0) return undefined;
  return reply.readUInt16BE(6);
}
