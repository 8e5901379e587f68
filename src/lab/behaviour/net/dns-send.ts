import { CanarytrapError } from '../../../errors.ts';
import type { SendSpec } from '../../../android/lab-image.ts';
import { b64 } from '../app-events.ts';
import { assertCaged, type SendContext } from './context.ts';
import { describeOutcome, exchangeDatagram } from './datagram.ts';
import { dnsAnswerCount, dnsQuery, randomQueryId } from './dns-message.ts';
import { queryA } from './resolve.ts';

type DnsSend = Extract<SendSpec, { channel: 'dns' }>;

/** Resolvers listen on port 53; a hard-coded one is named by its address alone. */
const DNS_PORT = 53;
/** How long the app waits for its own resolver's answer to one query. */
const RESOLVER_WAIT_MS = 2000;

/** DNS limits: 63 characters a label, 253 a name (without the final dot). */
const MAX_LABEL = 63;
const MAX_NAME = 253;

/**
 * The payload text as query names under `zone`, the way DNS tunnels carry it: data labels of up
 * to 63 characters, then a sequence number label, then the zone: `<data>.<data>.<n>.<zone>`.
 */
export function dnsQueryNames(text: string, zone: string): string[] {
  const bareZone = zone.replace(/\.$/, '');
  const names: string[] = [];
  let rest = text;
  for (let sequence = 0; rest.length > 0; sequence += 1) {
    const suffix = `${sequence}.${bareZone}`;
    const budget = MAX_NAME - suffix.length;
    const labels: string[] = [];
    let used = 0;
    while (rest.length > 0) {
      const take = Math.min(MAX_LABEL, rest.length, budget - used - 1);
      if (take <= 0) break;
      labels.push(rest.slice(0, take));
      rest = rest.slice(take);
      used += take + 1;
    }
    if (labels.length === 0)
      throw new CanarytrapError(
        'lab-image-invalid',
        `the DNS zone "${zone}" leaves no room for data`,
      );
    names.push(`${labels.join('.')}.${suffix}`);
  }
  return names;
}

/**
 * Sends the payload as A queries: to the device's DNS server through the system resolver
 * (`dns.query` for each, as a hook on the lookup states it), or, with `resolver`, to that
 * address itself (see sendToResolver). The answers do not matter to a tunnel that only
 * exfiltrates; the send fails only if no query was answered.
 */
export async function sendDns(
  context: SendContext,
  send: DnsSend,
  encoded: Buffer,
): Promise<string> {
  const names = dnsQueryNames(encoded.toString('latin1'), send.zone);
  const ask =
    send.resolver === undefined
      ? askDeviceResolver(context)
      : askOwnResolver(context, send.resolver);
  let answered = 0;
  let lastError: unknown;
  for (const name of names) {
    try {
      await ask(name);
      answered += 1;
    } catch (error) {
      lastError = error;
      context.logger.debug({ err: error, name }, 'a DNS tunnel query got no answer');
    }
  }
  if (answered === 0) {
    throw new CanarytrapError(
      'lab-dns-failed',
      `none of the ${names.length} DNS queries under ${send.zone} was answered`,
      { cause: lastError },
    );
  }
  const to = send.resolver === undefined ? '' : ` to ${send.resolver}:${DNS_PORT}`;
  return `${names.length} DNS queries under ${send.zone}${to}`;
}

function askDeviceResolver(context: SendContext): (name: string) => Promise<void> {
  const server = context.host.network().dnsServer;
  return async (name) => {
    context.events.emit({ type: 'dns.query', name });
    await queryA(name, server, context.signal);
  };
}

/**
 * A resolver of the app's own (a hard-coded public resolver, the classic way around the
 * device's DNS settings): the app writes each query itself and sends it over UDP, so a hook
 * sees a datagram to port 53 (`net.send`), not a lookup. Needs the cage: uncaged, the datagram
 * would leave the host.
 */
function askOwnResolver(context: SendContext, resolver: string): (name: string) => Promise<void> {
  assertCaged(context, `a DNS query to the app's own resolver ${resolver}`);
  return async (name) => {
    const id = randomQueryId();
    const query = dnsQuery(name, id);
    context.events.emit({ type: 'net.send', ip: resolver, port: DNS_PORT, data: b64(query) });
    const result = await exchangeDatagram(resolver, DNS_PORT, query, {
      waitMs: RESOLVER_WAIT_MS,
      signal: context.signal,
      accept: (reply) => dnsAnswerCount(reply, id) !== undefined,
    });
    if (result.outcome !== 'answered') {
      throw new CanarytrapError(
        'lab-dns-failed',
        `${resolver}:${DNS_PORT} gave no answer for ${name}: ${describeOutcome(result)}`,
      );
    }
  };
}
