import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../../../log.ts';
import type { LabOs } from '../lab-os.ts';
import { WebDriverError, noSuchSession, unknownCommand } from './errors.ts';
import { SESSION_ROUTES } from './routes.ts';
import { Uia2Session, type Json } from './session.ts';
import { closerOf, listenOn } from '../../listener.ts';

/** What the instrumentation reports as the server's build (its BuildConfig). */
export const SERVER_VERSION = { string: '10.6.6', code: 278 } as const;

export interface Uia2ServerOptions {
  os: LabOs;
  logger: Logger;
  /** Deleting the session shuts the server down, as the real one does; the instrumentation then ends. */
  onShutdown: () => void;
}

export interface Uia2Server {
  /** The host port on 127.0.0.1 it listens on (registered as the device port). */
  readonly hostPort: number;
  close(): Promise<void>;
}

/**
 * The UiAutomator2 server model: the HTTP API the driver proxies to, answered from the phone's
 * screen model. One session at a time, like the real server; deleting it shuts the server down.
 */
export async function startUia2Server(options: Uia2ServerOptions): Promise<Uia2Server> {
  const { os, logger } = options;
  let session: Uia2Session | undefined;

  const handle = async (method: string, rawPath: string, body: Json): Promise<[number, Json]> => {
    const path = rawPath.replace(/^\/wd\/hub/, '').replace(/\/+$/, '') || '/';
    if (method === 'GET' && path === '/status') {
      return [
        200,
        {
          sessionId: 'None',
          value: {
            ready: true,
            message: 'UiAutomator2 Server is ready to accept commands',
            build: { version: SERVER_VERSION.string, versionCode: SERVER_VERSION.code },
          },
        },
      ];
    }
    if (method === 'GET' && path === '/sessions') {
      const value =
        session === undefined ? [] : [{ id: session.id, capabilities: session.capabilities }];
      return [200, { sessionId: 'None', value }];
    }
    if (method === 'POST' && path === '/session') {
      const capabilities = (body.capabilities ?? {}) as Json;
      const firstMatch = Array.isArray(capabilities.firstMatch) ? capabilities.firstMatch : [];
      const merged = {
        ...((capabilities.alwaysMatch as Json | undefined) ?? {}),
        ...((firstMatch[0] as Json | undefined) ?? {}),
      };
      session = new Uia2Session(os, merged);
      logger.info({ session: session.id }, 'uiautomator2 session created');
      return [
        200,
        { sessionId: session.id, value: { sessionId: session.id, capabilities: merged } },
      ];
    }
    const m = /^\/session\/([^/]+)(\/.*)?$/.exec(path);
    if (!m?.[1]) throw unknownCommand(method, rawPath);
    const sessionId = m[1];
    const rest = m[2] ?? '';
    if (session === undefined || session.id !== sessionId) throw noSuchSession(sessionId);
    if (method === 'DELETE' && rest === '') {
      session = undefined;
      // Like the real server: the response goes out first, then the server stops.
      setTimeout(() => options.onShutdown(), 15).unref();
      return [200, { sessionId, value: null }];
    }
    for (const [routeMethod, pattern, handler] of SESSION_ROUTES) {
      if (routeMethod !== method) continue;
      const match = pattern.exec(rest);
      if (!match) continue;
      const value = await handler(session, match.slice(1), body);
      return [200, { sessionId, value }];
    }
    throw unknownCommand(method, rawPath);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        let status: number;
        let payload: Json;
        try {
          const text = Buffer.concat(chunks).toString('utf8');
          const body = text.trim() === '' ? {} : (JSON.parse(text) as Json);
          [status, payload] = await handle(req.method ?? 'GET', req.url ?? '/', body);
        } catch (error) {
          const failure =
            error instanceof WebDriverError
              ? error
              : new WebDriverError(
                  500,
                  error instanceof SyntaxError ? 'invalid argument' : 'unknown error',
                  error instanceof Error ? error.message : String(error),
                );
          if (!(error instanceof WebDriverError))
            logger.warn({ err: error, url: req.url }, 'uiautomator2 server request failed');
          status = failure.status;
          payload = {
            sessionId: session?.id ?? null,
            value: {
              error: failure.error,
              message: failure.message,
              stacktrace: `io.appium.uiautomator2.common.exceptions: ${failure.message}`,
            },
          };
        }
        logger.debug({ method: req.method, url: req.url, status }, 'uiautomator2 request');
        const bytes = Buffer.from(JSON.stringify(payload), 'utf8');
        res.writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': bytes.length,
        });
        res.end(bytes);
      })();
    });
  });
  const hostPort = await listenOn(server, '127.0.0.1', 0);
  return { hostPort, close: closerOf(server, () => server.closeAllConnections()) };
}
