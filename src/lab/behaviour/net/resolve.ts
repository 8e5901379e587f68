import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { CanarytrapError } from '../../../errors.ts';

export interface DnsServer {
  host: string;
  port: number;
}

/** Per-try timeout; two tries fit well inside a send's timeout. */
const TRY_TIMEOUT_MS = 2000;

/**
 * Resolves a name the way the emulator's guest does with `-dns-server`: a real query to that
 * server only. Never the system resolver: a failure here fails the send, so nothing a suspect
 * app names is ever looked up outside the run's sinkhole.
 */
export async function resolveThroughSinkhole(
  name: string,
  server: DnsServer,
  signal: AbortSignal,
): Promise<string> {
  const addresses = await queryA(name, server, signal);
  const first = addresses[0];
  if (first === undefined) {
    throw new CanarytrapError(
      'lab-dns-failed',
      `the DNS server at ${serverAddress(server)} gave no address for ${name}`,
    );
  }
  return first;
}

/** One A query to the sinkhole; the answer (or its absence) is the caller's business. */
export async function queryA(
  name: string,
  server: DnsServer,
  signal: AbortSignal,
): Promise<string[]> {
  if (isIP(server.host) === 0) {
    throw new CanarytrapError(
      'lab-dns-failed',
      `the device's DNS server "${server.host}" is not an IP address`,
      {
        hint: 'give the lab phone the sinkhole as an IP and port',
      },
    );
  }
  signal.throwIfAborted();
  const resolver = new Resolver({ timeout: TRY_TIMEOUT_MS, tries: 2 });
  resolver.setServers([serverAddress(server)]);
  const cancel = (): void => resolver.cancel();
  signal.addEventListener('abort', cancel, { once: true });
  try {
    return await resolver.resolve4(name);
  } catch (error) {
    throw new CanarytrapError(
      'lab-dns-failed',
      `resolving ${name} at ${serverAddress(server)} failed`,
      { cause: error },
    );
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}

function serverAddress(server: DnsServer): string {
  return isIP(server.host) === 6
    ? `[${server.host}]:${server.port}`
    : `${server.host}:${server.port}`;
}
