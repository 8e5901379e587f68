import { CanarytrapError } from '../../../errors.ts';
import type { SendSpec } from '../../../android/lab-image.ts';
import type { SendContext } from './context.ts';
import { dnsQuery } from './dns-message.ts';
import { dnsQueryNames } from './dns-send.ts';
import type { HttpSend } from './http-request.ts';
import { sendHttp } from './http-send.ts';

type DohSend = Extract<SendSpec, { channel: 'doh' }>;

/** RFC 8484's media type, for the request body and the answer the client accepts. */
const DNS_MESSAGE = 'application/dns-message';

/** The HTTPS request that carries one query: a POST of the DNS message, as RFC 8484 has it. */
export function dohRequest(send: DohSend): HttpSend {
  return {
    channel: 'https',
    host: send.host,
    port: send.port,
    method: 'POST',
    path: send.path,
    carry: { as: 'body', contentType: DNS_MESSAGE },
    headers: { Accept: DNS_MESSAGE },
  };
}

/**
 * Sends the payload as names under the zone, each asked by DNS over HTTPS: one POST per name
 * carrying the query in wire format (message id 0, as RFC 8484 recommends for caching). It is
 * an HTTPS request like any other to the device (`tls.write`, `http.request`), so it goes where
 * HTTPS goes; to an address literal there is no lookup and no SNI. Fails only if no request was
 * answered.
 */
export async function sendDoh(
  context: SendContext,
  send: DohSend,
  encoded: Buffer,
): Promise<string> {
  const names = dnsQueryNames(encoded.toString('latin1'), send.zone);
  const request = dohRequest(send);
  let answered = 0;
  let lastError: unknown;
  for (const name of names) {
    try {
      await sendHttp(context, request, {}, dnsQuery(name, 0));
      answered += 1;
    } catch (error) {
      lastError = error;
      context.logger.debug({ err: error, name }, 'a DNS-over-HTTPS query got no answer');
    }
  }
  if (answered === 0) {
    throw new CanarytrapError(
      'lab-doh-failed',
      `none of the ${names.length} DNS-over-HTTPS queries to ${send.host} was answered`,
      { cause: lastError },
    );
  }
  return `${names.length} DNS-over-HTTPS queries under ${send.zone} to ${send.host}`;
}
