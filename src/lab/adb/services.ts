import { startReverse, startRoot, startUnroot } from './admin-services.ts';
import type { ServiceOpener } from './connection.ts';
import { openTcpForward } from './forward-service.ts';
import type { ServiceContext } from './service-context.ts';
import { parseShellService, startExec, startShell } from './shell-service.ts';
import type { DeviceStream } from './stream.ts';
import { startSync } from './sync-service.ts';

type Starter = (stream: DeviceStream) => void;

/**
 * The one place that maps a service name from the host's OPEN to what runs on the stream.
 * Unknown services are refused (CLSE), as adbd does.
 */
export function createServiceOpener(context: ServiceContext): ServiceOpener {
  return async (service: string): Promise<Starter | undefined> => {
    const shell = parseShellService(service);
    if (shell !== undefined) return (stream) => startShell(stream, context, shell);
    if (service.startsWith('exec:')) {
      const command = service.slice('exec:'.length);
      return (stream) => startExec(stream, context, command);
    }
    if (service === 'sync:') return (stream) => startSync(stream, context);
    if (service === 'root:') return (stream) => startRoot(stream, context);
    if (service === 'unroot:') return (stream) => startUnroot(stream, context);
    if (service.startsWith('reverse:')) return (stream) => startReverse(stream, context);
    const tcp = /^tcp:(\d{1,5})(?::(.*))?$/.exec(service);
    if (tcp) {
      const port = Number(tcp[1]);
      const host = tcp[2];
      // Only the device's own loopback exists here: never connect anywhere else.
      if (
        port < 1 ||
        port > 65535 ||
        (host !== undefined && !['localhost', '127.0.0.1'].includes(host))
      ) {
        return undefined;
      }
      return openTcpForward(port, context);
    }
    context.logger.debug({ service }, 'unknown adb service');
    return undefined;
  };
}
