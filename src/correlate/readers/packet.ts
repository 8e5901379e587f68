/** Link, IP and transport headers of one frame, decoded as far as TCP/UDP payloads. */
export interface TransportSegment {
  /** `icmp`: an echo request, ports 0, payload the echo data (what `ping -p` fills). */
  protocol: 'tcp' | 'udp' | 'icmp';
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
  /** TCP only. */
  seq?: number;
  flags?: { syn: boolean; ack: boolean; fin: boolean; rst: boolean };
}

export type DecodeResult = { segment: TransportSegment } | { skip: string };

/** The IP packet inside a link-layer frame, or why there is none. */
function ipPayload(linkType: number, frame: Buffer): Buffer | string {
  switch (linkType) {
    case 1: {
      let at = 12;
      let etherType = frame.length >= 14 ? frame.readUInt16BE(12) : 0;
      while ((etherType === 0x8100 || etherType === 0x88a8) && at + 6 <= frame.length) {
        at += 4;
        etherType = frame.readUInt16BE(at);
      }
      if (etherType !== 0x0800 && etherType !== 0x86dd)
        return `ethertype 0x${etherType.toString(16)}`;
      return frame.subarray(at + 2);
    }
    case 0:
    case 108:
      return frame.subarray(4);
    case 12:
    case 14:
    case 101:
    case 228:
    case 229:
      return frame;
    case 113: {
      if (frame.length < 16) return 'short SLL header';
      const protocol = frame.readUInt16BE(14);
      return protocol === 0x0800 || protocol === 0x86dd
        ? frame.subarray(16)
        : `SLL protocol 0x${protocol.toString(16)}`;
    }
    case 276: {
      if (frame.length < 20) return 'short SLL2 header';
      const protocol = frame.readUInt16BE(0);
      return protocol === 0x0800 || protocol === 0x86dd
        ? frame.subarray(20)
        : `SLL2 protocol 0x${protocol.toString(16)}`;
    }
    default:
      return `link type ${linkType}`;
  }
}

function ipv6Text(bytes: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(at + i).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

export function decodeFrame(linkType: number, frame: Buffer): DecodeResult {
  const ip = ipPayload(linkType, frame);
  if (typeof ip === 'string') return { skip: ip };
  if (ip.length < 20) return { skip: 'short IP packet' };
  const version = ip[0]! >>> 4;
  let protocol: number;
  let src: string;
  let dst: string;
  let payload: Buffer;
  if (version === 4) {
    const headerLength = (ip[0]! & 0x0f) * 4;
    const total = Math.min(ip.readUInt16BE(2) || ip.length, ip.length);
    const fragment = ip.readUInt16BE(6);
    if ((fragment & 0x1fff) !== 0 || (fragment & 0x2000) !== 0) return { skip: 'IPv4 fragment' };
    protocol = ip[9]!;
    src = `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
    dst = `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}`;
    payload = ip.subarray(headerLength, total);
  } else if (version === 6) {
    if (ip.length < 40) return { skip: 'short IPv6 packet' };
    protocol = ip[6]!;
    src = ipv6Text(ip, 8);
    dst = ipv6Text(ip, 24);
    let at = 40;
    const end = Math.min(ip.length, 40 + ip.readUInt16BE(4));
    // Hop-by-hop, routing, destination options: skip to the transport header.
    while ((protocol === 0 || protocol === 43 || protocol === 60) && at + 8 <= end) {
      protocol = ip[at]!;
      at += (ip[at + 1]! + 1) * 8;
    }
    if (protocol === 44) return { skip: 'IPv6 fragment' };
    payload = ip.subarray(at, end);
  } else return { skip: `IP version ${version}` };
  if (protocol === 6) {
    if (payload.length < 20) return { skip: 'short TCP header' };
    const offset = (payload[12]! >>> 4) * 4;
    const flags = payload[13]!;
    return {
      segment: {
        protocol: 'tcp',
        src,
        dst,
        srcPort: payload.readUInt16BE(0),
        dstPort: payload.readUInt16BE(2),
        seq: payload.readUInt32BE(4),
        flags: {
          fin: (flags & 1) !== 0,
          syn: (flags & 2) !== 0,
          rst: (flags & 4) !== 0,
          ack: (flags & 16) !== 0,
        },
        payload: payload.subarray(offset),
      },
    };
  }
  if (protocol === 17) {
    if (payload.length < 8) return { skip: 'short UDP header' };
    return {
      segment: {
        protocol: 'udp',
        src,
        dst,
        srcPort: payload.readUInt16BE(0),
        dstPort: payload.readUInt16BE(2),
        payload: payload.subarray(8),
      },
    };
  }
  // Echo requests carry data of the sender's choosing: a channel out like any other.
  if ((protocol === 1 || protocol === 58) && payload.length >= 8) {
    const echoRequest = protocol === 1 ? 8 : 128;
    if (payload[0] === echoRequest)
      return {
        segment: {
          protocol: 'icmp',
          src,
          dst,
          srcPort: 0,
          dstPort: 0,
          payload: payload.subarray(8),
        },
      };
  }
  return { skip: `IP protocol ${protocol}` };
}
