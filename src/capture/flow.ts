/**
 * A captured flow: what one client sent to one destination, bytes as sent. HTTP flows carry the
 * parsed request; everything else carries raw bytes. Bytes are base64 so flows serialise as JSON
 * Lines (`flows.jsonl` in the run directory).
 */
export interface FlowEndpoint {
  /**
   * The name the client asked for (DNS query, SNI, Host header, or the name the sinkhole gave
   * `ip`); the address itself when no name is known.
   */
  host?: string;
  ip: string;
  port: number;
}

export interface HttpMessage {
  method: string;
  url: string;
  httpVersion: string;
  headers: Array<[string, string]>;
  /** The body exactly as sent, Content-Encoding not undone. base64. */
  body: string;
}

export interface HttpResponseSummary {
  status: number;
  headers: Array<[string, string]>;
  body: string;
}

/** `quic`: a datagram to UDP port 443, which the cage's edge refuses as QUIC (apps fall back to TCP). */
export type FlowProtocol =
  'http' | 'https' | 'tcp' | 'tls' | 'udp' | 'quic' | 'icmp' | 'dns' | 'sms';

export interface Flow {
  id: string;
  /** Start, ms since the epoch (wall clock of the capturing host). */
  t: number;
  protocol: FlowProtocol;
  destination: FlowEndpoint;
  client?: { ip: string; port: number; package?: string };
  request?: HttpMessage;
  response?: HttpResponseSummary;
  /** Raw bytes sent by the client for flows that are not parsed HTTP. base64. */
  raw?: string;
  tls?: { sni?: string; decrypted: boolean };
  /**
   * Why this flow carries less than a full exchange, when it does: a TLS handshake the client
   * broke off (`tls-handshake:cert-rejected`), bytes that were not HTTP (`client-error:…`).
   */
  error?: string;
}
