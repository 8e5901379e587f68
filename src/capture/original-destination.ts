import type { Logger } from '../log.ts';
import type { HostPort } from './addresses.ts';

/** Where a redirected connection or datagram from `client` was going (the cage's conntrack). */
export type OriginalDestinationLookup = (
  protocol: 'tcp' | 'udp',
  client: HostPort,
) => Promise<HostPort | undefined>;

/** A lookup reads one kernel table; longer than this means it is stuck, not slow. */
const LOOKUP_TIMEOUT_MS = 2_000;

/**
 * Asks the cage where `client`'s traffic was going. Never rejects: a capture must record the
 * bytes even when it cannot say where they were headed, so a failed or stuck lookup is logged
 * and reported as unknown (undefined).
 */
export async function lookupOriginalDestination(
  lookup: OriginalDestinationLookup,
  protocol: 'tcp' | 'udp',
  client: HostPort,
  logger: Logger,
): Promise<HostPort | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), LOOKUP_TIMEOUT_MS);
    timer.unref();
  });
  try {
    const found = await Promise.race([lookup(protocol, client), timeout]);
    if (found === 'timeout') {
      logger.warn(
        { protocol, client, timeoutMs: LOOKUP_TIMEOUT_MS },
        'original destination lookup timed out',
      );
      return undefined;
    }
    if (found === undefined) logger.warn({ protocol, client }, 'original destination unknown');
    return found;
  } catch (error) {
    logger.warn({ err: error, protocol, client }, 'original destination lookup failed');
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** What a flow says when the edge could not tell where its bytes were going. */
export const DESTINATION_UNKNOWN = 'original-destination-unknown';
