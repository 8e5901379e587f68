import type { ServiceContext } from './service-context.ts';
import type { DeviceStream } from './stream.ts';

/** adbd restarts a moment after the reply went out; the host then sees the device go away. */
const RESTART_DELAY_MS = 100;

function replyAndClose(
  stream: DeviceStream,
  context: ServiceContext,
  text: string,
  restart: boolean,
): void {
  void stream
    .write(text)
    .then(() => stream.close())
    .then(() => {
      if (restart) setTimeout(() => context.restartAdbd(), RESTART_DELAY_MS).unref();
    });
}

/** `root:` — adbd's wording; after "restarting" `adb root` waits for the device to come back. */
export function startRoot(stream: DeviceStream, context: ServiceContext): void {
  if (context.shellContext.root) {
    replyAndClose(stream, context, 'adbd is already running as root\n', false);
    return;
  }
  context.shellContext.root = true;
  context.onRoot?.();
  replyAndClose(stream, context, 'restarting adbd as root\n', true);
}

/** `unroot:` */
export function startUnroot(stream: DeviceStream, context: ServiceContext): void {
  if (!context.shellContext.root) {
    replyAndClose(stream, context, 'adbd not running as root\n', false);
    return;
  }
  context.shellContext.root = false;
  replyAndClose(stream, context, 'restarting adbd as non root\n', true);
}

/**
 * `reverse:…` speaks the smart-socket status protocol (OKAY, or FAIL with a 4-hex-digit length
 * and a message). The lab phone opens no connections towards the host, so it always fails.
 */
export function startReverse(stream: DeviceStream, context: ServiceContext): void {
  const message = 'reverse forwarding is not supported by the lab phone';
  const length = Buffer.byteLength(message).toString(16).padStart(4, '0');
  replyAndClose(stream, context, `FAIL${length}${message}`, false);
}
