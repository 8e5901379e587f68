import type { Socket } from 'node:net';
import type { Logger } from '../../log.ts';
import {
  A_CLSE,
  A_CNXN,
  A_OKAY,
  A_OPEN,
  A_VERSION,
  A_WRTE,
  AdbMessageDecoder,
  MAX_PAYLOAD,
  commandName,
  encodeMessage,
  type AdbMessage,
} from './message.ts';
import { DeviceStream, type StreamLink } from './stream.ts';

/** Starts a service on a stream the host opened; undefined refuses the OPEN. */
export type ServiceOpener = (
  service: string,
) => Promise<((stream: DeviceStream) => void) | undefined>;

export interface AdbConnectionOptions {
  socket: Socket;
  /** `device::ro.product.name=…;…;features=…`, sent in reply to the host's CNXN. */
  banner: string;
  openService: ServiceOpener;
  /** Called once the CNXN handshake is done. */
  onHandshake?: () => void;
  logger: Logger;
}

/**
 * One TCP connection from the adb server: the CNXN handshake, then any number of streams at
 * once. A peer that breaks the framing is dropped; the process and other connections go on.
 */
export class AdbConnection {
  private readonly socket: Socket;
  private readonly options: AdbConnectionOptions;
  private readonly logger: Logger;
  private readonly decoder = new AdbMessageDecoder(MAX_PAYLOAD);
  private readonly streams = new Map<number, DeviceStream>();
  private nextLocalId = 1;
  private handshakeDone = false;
  private negotiatedPayload = MAX_PAYLOAD;
  private readonly closedPromise: Promise<void>;
  private readonly link: StreamLink;

  constructor(options: AdbConnectionOptions) {
    this.options = options;
    this.socket = options.socket;
    this.logger = options.logger;
    this.socket.setNoDelay(true);
    this.link = {
      send: (message) => this.send(message),
      maxPayload: () => this.negotiatedPayload,
      forget: (localId) => this.streams.delete(localId),
    };
    this.closedPromise = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('error', (error) => this.logger.debug({ err: error }, 'adb connection error'));
    this.socket.once('close', () => {
      for (const stream of [...this.streams.values()]) stream.closedByRemote();
      this.streams.clear();
    });
  }

  /** True once the host sent CNXN and got our reply. */
  get connected(): boolean {
    return this.handshakeDone && !this.socket.destroyed;
  }

  get closed(): Promise<void> {
    return this.closedPromise;
  }

  /** Drops the connection, as adbd restarting would. */
  close(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    let messages: AdbMessage[];
    try {
      messages = this.decoder.push(chunk);
    } catch (error) {
      this.logger.warn(
        { err: error },
        'adb peer sent a malformed message; dropping the connection',
      );
      this.socket.destroy();
      return;
    }
    for (const message of messages) this.handle(message);
  }

  private handle(message: AdbMessage): void {
    switch (message.command) {
      case A_CNXN:
        this.handshake(message);
        return;
      case A_OPEN:
        if (this.requireHandshake(message)) void this.open(message);
        return;
      case A_WRTE:
        if (this.requireHandshake(message)) void this.write(message);
        return;
      case A_OKAY:
        this.streams.get(message.arg1)?.acknowledged();
        return;
      case A_CLSE:
        this.streams.get(message.arg1)?.closedByRemote();
        return;
      default:
        // AUTH, STLS, SYNC: emulators on the loopback transport are trusted without them.
        this.logger.debug({ command: commandName(message.command) }, 'ignored adb message');
    }
  }

  private requireHandshake(message: AdbMessage): boolean {
    if (this.handshakeDone) return true;
    this.logger.warn(
      { command: commandName(message.command) },
      'adb peer skipped CNXN; dropping the connection',
    );
    this.socket.destroy();
    return false;
  }

  private handshake(message: AdbMessage): void {
    // The host's arg1 is the largest payload it accepts; never send more than that.
    const offered = message.arg1 > 0 ? message.arg1 : MAX_PAYLOAD;
    this.negotiatedPayload = Math.min(offered, MAX_PAYLOAD);
    const first = !this.handshakeDone;
    this.handshakeDone = true;
    this.send({
      command: A_CNXN,
      arg0: A_VERSION,
      arg1: this.negotiatedPayload,
      data: Buffer.from(this.options.banner, 'utf8'),
    });
    if (first) this.options.onHandshake?.();
  }

  private async open(message: AdbMessage): Promise<void> {
    const remoteId = message.arg0;
    const nul = message.data.indexOf(0);
    const service = message.data.subarray(0, nul === -1 ? undefined : nul).toString('utf8');
    let start: ((stream: DeviceStream) => void) | undefined;
    try {
      start = await this.options.openService(service);
    } catch (error) {
      this.logger.warn({ err: error, service }, 'adb service failed to open');
    }
    if (start === undefined) {
      this.logger.debug({ service }, 'adb service refused');
      this.send({ command: A_CLSE, arg0: 0, arg1: remoteId, data: Buffer.alloc(0) });
      return;
    }
    const localId = this.nextLocalId++;
    const stream = new DeviceStream(this.link, localId, remoteId);
    this.streams.set(localId, stream);
    this.send({ command: A_OKAY, arg0: localId, arg1: remoteId, data: Buffer.alloc(0) });
    try {
      start(stream);
    } catch (error) {
      this.logger.warn({ err: error, service }, 'adb service failed');
      void stream.close();
    }
  }

  private async write(message: AdbMessage): Promise<void> {
    const stream = this.streams.get(message.arg1);
    if (stream === undefined) return;
    try {
      await stream.deliver(message.data);
    } catch (error) {
      this.logger.warn({ err: error }, 'adb service failed on incoming data');
      void stream.close();
      return;
    }
    if (!stream.closed) {
      this.send({
        command: A_OKAY,
        arg0: stream.localId,
        arg1: stream.remoteId,
        data: Buffer.alloc(0),
      });
    }
  }

  private send(message: AdbMessage): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(encodeMessage(message));
  }
}
