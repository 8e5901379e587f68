import { CanarytrapError, describeError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { Behaviour, LabApp, LabImage } from '../../android/lab-image.ts';
import { AppEvents } from './app-events.ts';
import { collectPayload, serializePayload } from './collect.ts';
import { applyEncoding, encodesToText } from './encode.ts';
import type { BehaviourHost } from './host.ts';
import type { SendContext } from './net/context.ts';
import { sendDns } from './net/dns-send.ts';
import { sendDoh } from './net/doh-send.ts';
import { dalvikUserAgent, defaultPort } from './net/http-request.ts';
import { sendHttp } from './net/http-send.ts';
import { sendIcmp } from './net/icmp-send.ts';
import { attemptQuic } from './net/quic-attempt.ts';
import { sendTcp } from './net/tcp-send.ts';
import { sendUdp } from './net/udp-send.ts';

/** How one run of a behaviour ended. Sends never throw: a failure is an outcome, and is logged. */
export type BehaviourOutcome =
  | {
      ok: true;
      package: string;
      behaviour: string;
      channel: Behaviour['send']['channel'];
      detail: string;
    }
  | {
      ok: false;
      package: string;
      behaviour: string;
      channel: Behaviour['send']['channel'];
      error: string;
      /** Set when nothing was attempted because the behaviour's `when` did not hold; `error` says why. */
      skipped?: true;
    };

export interface RunOptions {
  image: LabImage;
  host: BehaviourHost;
  logger: Logger;
  sendTimeoutMs: number;
}

/**
 * One run of one behaviour, as the app's code does it when its trigger fires: read the data,
 * serialise it as JSON, apply the encode steps, send. Every failure, the timeout included, ends
 * as a logged `ok: false` outcome naming the behaviour.
 */
export async function runBehaviour(
  app: LabApp,
  behaviour: Behaviour,
  options: RunOptions,
): Promise<BehaviourOutcome> {
  const base = { package: app.package, behaviour: behaviour.id, channel: behaviour.send.channel };
  const logger = options.logger.child({ package: app.package, behaviour: behaviour.id });
  const signal = AbortSignal.timeout(options.sendTimeoutMs);
  try {
    const detail = await untilAborted(
      perform(app, behaviour, options, logger, signal),
      signal,
      options.sendTimeoutMs,
    );
    logger.info({ detail }, 'behaviour sent its payload');
    return { ok: true, ...base, detail };
  } catch (error) {
    const message = describeError(error);
    logger.warn({ err: error }, `behaviour ${behaviour.id} of ${app.package} failed: ${message}`);
    return { ok: false, ...base, error: message };
  }
}

async function perform(
  app: LabApp,
  behaviour: Behaviour,
  options: RunOptions,
  logger: Logger,
  signal: AbortSignal,
): Promise<string> {
  const { host, image } = options;
  const events = new AppEvents(host, app.package);
  const payload = collectPayload(behaviour, image, host, events);
  const encoded = applyEncoding(
    behaviour.encode,
    serializePayload(payload, behaviour.serialize),
    events,
  );
  const props = host.properties();
  const userAgent = dalvikUserAgent(
    props['ro.build.version.release'] ?? image.build.release,
    props['ro.product.model'] ?? image.build.model,
    props['ro.build.id'] ?? image.build.incremental,
  );
  const context: SendContext = { host, events, logger, signal, userAgent };
  const send = behaviour.send;
  switch (send.channel) {
    case 'http':
    case 'https': {
      const quic =
        send.channel === 'https' && send.quic === true
          ? `${await attemptQuic(context, send.host, defaultPort(send))}, then `
          : '';
      return `${quic}HTTP ${await sendHttp(context, send, payload, encoded)} from ${send.host}`;
    }
    case 'tcp':
      return `${encoded.length} bytes to ${send.host}:${send.port}, ${await sendTcp(context, send, encoded)} back`;
    case 'udp':
      return sendUdp(context, send, encoded);
    case 'icmp':
      return sendIcmp(context, send, encoded);
    case 'dns':
      return sendDns(context, send, encoded);
    case 'doh':
      return sendDoh(context, send, encoded);
    case 'sms':
      // The hidden SMS leaves through SmsManager; the lab phone has no radio, so the hook's
      // event is the whole of it.
      events.emit(
        encodesToText(behaviour.encode)
          ? { type: 'sms.send', destination: send.destination, body: encoded.toString('utf8') }
          : { type: 'sms.send', destination: send.destination, data: encoded.toString('base64') },
      );
      return `SMS to ${send.destination}`;
  }
}

/**
 * The send's own steps stop on the signal; this also stops waiting on anything that does not
 * (a host promise that never settles), so a behaviour never outlives its timeout.
 */
async function untilAborted<T>(
  work: Promise<T>,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<T> {
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () =>
      reject(
        new CanarytrapError('lab-send-timeout', `the send did not finish within ${timeoutMs} ms`, {
          hint: "raise sendTimeoutMs of startBehaviours, or check the run's DNS sinkhole and proxy",
        }),
      );
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}
