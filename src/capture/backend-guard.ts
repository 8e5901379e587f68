import { Server, Socket } from 'node:net';
import type { Mockttp } from 'mockttp';
import { CanarytrapError } from '../errors.ts';

/**
 * Cuts every connection to mockttp that `admit` refuses, as it is accepted, before a byte is
 * read. mockttp 4.x takes no listen address: start() calls `server.listen(port)`, which binds
 * every interface, so anyone who can reach this host could otherwise talk to the run's
 * interception server (and be answered by the run's CA). The hook reaches into mockttp's private
 * `server` field; should an upgrade move it, this throws and the capture does not start, rather
 * than running with its backend open.
 */
export function guardBackend(
  mockttp: Mockttp,
  admit: (socket: Socket) => boolean,
  onRefused: (socket: Socket) => void,
): void {
  const server = (mockttp as unknown as { server?: unknown }).server;
  if (!(server instanceof Server)) {
    throw new CanarytrapError(
      'capture-backend-unguarded',
      'cannot restrict the interception server to the capture front',
      {
        hint: 'mockttp changed its internals (MockttpServer.server is not a net.Server): check guardBackend against the installed mockttp',
      },
    );
  }
  server.prependListener('connection', (socket: unknown) => {
    // Tunnels mockttp re-emits (CONNECT, HTTP/2 streams) ride on a socket checked on arrival.
    if (!(socket instanceof Socket) || socket.destroyed || admit(socket)) return;
    onRefused(socket);
    socket.destroy();
  });
}
