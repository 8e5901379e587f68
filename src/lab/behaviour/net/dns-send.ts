import { CanarytrapError } from '../../../errors.ts';
import type { SendContext } from './context.ts';
import { queryA } from './resolve.ts';

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
 * Sends the payload as A queries to the device's DNS server (`dns.query` for each). The answers
 * do not matter to a tunnel that only exfiltrates; the send fails only if no query was answered.
 */
export async function sendDns(
  context: SendContext,
  zone: string,
  encoded: Buffer,
): Promise<number> {
  const names = dnsQueryNames(encoded.toString('latin1'), zone);
  const server = context.host.network().dnsServer;
  let answered = 0;
  let lastError: unknown;
  for (const name of names) {
    context.events.emit({ type: 'dns.query', name });
    try {
      await queryA(name, server, context.signal);
      answered += 1;
    } catch (error) {
      lastError = error;
      context.logger.debug({ err: error, name }, 'a DNS tunnel query got no answer');
    }
  }
  if (answered === 0) {
    throw new CanarytrapError(
      'lab-dns-failed',
      `none of the ${names.length} DNS queries under ${zone} was answered`,
      { cause: lastError },
    );
  }
  return names.length;
}
