import type { Cage } from '../capture/cage/index.ts';
import { CanarytrapError } from '../errors.ts';
import type { LaunchRequest } from './device.ts';

interface HostPort {
  host: string;
  port: number;
}

/** A caged device's network, as plain data: its DNS server is the cage's gateway, port 53. */
export interface CagedNetwork {
  mode: 'caged';
  dnsServer: HostPort;
}

/** An uncaged device's network: the run's DNS sinkhole and HTTP proxy, on the host. */
export interface ProxiedNetwork {
  mode: 'proxy';
  dnsServer: HostPort;
  httpProxy: HostPort;
}

/** What a device is told about its network; command lines are built from this. */
export type DeviceNetwork = CagedNetwork | ProxiedNetwork;

/** How a device reaches the run: from inside its cage, or uncaged through the run's proxy. */
export type DeviceWiring = (CagedNetwork & { cage: Cage }) | ProxiedNetwork;

/** Where every device sends DNS: resolvers listen on port 53, and the cage's edge takes it there. */
const DNS_PORT = 53;

/**
 * The wiring a launch request asks for. An uncaged device without the run's proxy is refused:
 * its apps would open sockets straight from the host to wherever they like.
 */
export function wiringOf(request: LaunchRequest): DeviceWiring {
  if (request.cage !== undefined) {
    return {
      mode: 'caged',
      cage: request.cage,
      dnsServer: { host: request.cage.addressing.gateway, port: DNS_PORT },
    };
  }
  const { dnsServer, httpProxy } = request.network;
  if (httpProxy === undefined) {
    throw new CanarytrapError(
      'device-network-uncontained',
      "an uncaged device needs the run's HTTP proxy: without a cage or a proxy its traffic would leave the host",
      {
        permanent: true,
        hint: "launch it in a cage (LaunchRequest.cage), or pass the capture's proxy as network.httpProxy",
      },
    );
  }
  return { mode: 'proxy', dnsServer, httpProxy };
}
