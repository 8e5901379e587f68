import type { Server } from 'node:net';

/**
 * The listening side every lab phone server shares (adb device port, console, the UiAutomator2
 * server model): bind exclusively, learn the port, and close once however often asked.
 */

/** Listens on host:port (0 for any free port) exclusively; resolves with the port bound. */
export function listenOn(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

/**
 * An idempotent close: stop accepting, then drop the open connections, since a client that keeps
 * its socket open (an adb server, a telnet session) would otherwise hold the phone's shutdown.
 */
export function closerOf(server: Server, dropConnections: () => void): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      dropConnections();
    });
    return closing;
  };
}
