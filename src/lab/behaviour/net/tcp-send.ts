import type { Socket } from 'node:net';
import type { SendSpec } from '../../../android/lab-image.ts';
import { b64 } from '../app-events.ts';
import { connectTo, writeAll, type SendContext } from './context.ts';

type TcpSend = Extract<SendSpec, { channel: 'tcp' }>;

/** How long the app keeps a raw connection open for an answer after writing its bytes. */
const LINGER_MS = 2000;

/**
 * Writes the payload on a raw TCP connection (`net.send`) to a name or an address literal, closes its
 * side, and waits briefly for the server to close: a raw-socket app does not know when the
 * other side is done. Resolves with the number of bytes the server sent back.
 */
export async function sendTcp(
  context: SendContext,
  send: TcpSend,
  encoded: Buffer,
): Promise<number> {
  const { socket, ip } = await connectTo(context, send.host, send.port);
  try {
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    socket.resume();
    context.events.emit({ type: 'net.send', ip, port: send.port, data: b64(encoded) });
    await writeAll(socket, encoded);
    socket.end();
    await closedOrLingered(socket);
    return received;
  } finally {
    socket.destroy();
  }
}

async function closedOrLingered(socket: Socket): Promise<void> {
  if (socket.closed) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, LINGER_MS);
    function done(): void {
      clearTimeout(timer);
      socket.off('close', done);
      resolve();
    }
    socket.once('close', done);
  });
}
