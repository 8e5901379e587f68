import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../../log.ts';
import type { LabOs } from '../lab-os.ts';
import { DISPLAY, type UiNode } from '../ui/layout.ts';
import { InvalidSelectorError, findNodes } from '../ui/locators.ts';
import { boundsText, nodeAttributes, pageSource } from '../ui/page-source.ts';
import {
  WebDriverError,
  invalidArgument,
  invalidSelector,
  noSuchElement,
  noSuchSession,
  staleElement,
  unknownCommand,
} from './errors.ts';

/** What the instrumentation reports as the server's build (its BuildConfig). */
export const SERVER_VERSION = { string: '10.6.6', code: 278 } as const;

const W3C_ELEMENT_KEY = 'element-6066-11e4-a52e-4f735466cecf';

/** An element handed out to the client: the screen it was found on and its path in the tree. */
interface ElementRef {
  screen: string;
  path: number[];
}

interface Session {
  id: string;
  capabilities: Record<string, unknown>;
  elements: Map<string, ElementRef>;
  settings: Record<string, unknown>;
}

type Json = Record<string, unknown>;
type Handler = (request: { params: string[]; body: Json; session: Session }) => Promise<unknown>;

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

const DEFAULT_SETTINGS: Json = {
  actionAcknowledgmentTimeout: 3000,
  allowInvisibleElements: false,
  ignoreUnimportantViews: false,
  compressedLayoutHierarchy: false,
  elementResponseAttributes: '',
  enableMultiWindows: false,
  enableNotificationListener: true,
  enforceXPath1: false,
  keyInjectionDelay: 0,
  normalizeTagNames: false,
  scrollAcknowledgmentTimeout: 200,
  shouldUseCompactResponses: true,
  waitForIdleTimeout: 10000,
  waitForSelectorTimeout: 10000,
  shutdownOnPowerDisconnect: true,
  simpleBoundsCalculation: false,
  trackScrollEvents: true,
  wakeLockTimeout: 86_400_000,
};

function pathOf(root: UiNode, target: UiNode): number[] | undefined {
  if (root === target) return [];
  for (const [i, child] of root.children.entries()) {
    const rest = pathOf(child, target);
    if (rest !== undefined) return [i, ...rest];
  }
  return undefined;
}

function nodeAt(root: UiNode, path: number[]): UiNode | undefined {
  let node: UiNode | undefined = root;
  for (const i of path) node = node?.children[i];
  return node;
}

/** `getAttribute` names and their aliases, as the server's Attribute enum accepts them. */
function attributeValue(node: UiNode, name: string): string | null {
  const aliases: Record<string, string> = {
    className: 'class',
    contentDescription: 'content-desc',
    resourceId: 'resource-id',
    longClickable: 'long-clickable',
    name: 'text',
  };
  const key = aliases[name] ?? name;
  const found = nodeAttributes(node).find(([attr]) => attr === key);
  if (found) return found[1];
  if (key === 'content-desc' || key === 'resource-id') return null;
  return null;
}

/**
 * The UiAutomator2 server model: the HTTP API the driver proxies to, answered from the phone's
 * screen model. One session at a time, like the real server; deleting it shuts the server down.
 */
export async function startUia2Server(options: Uia2ServerOptions): Promise<Uia2Server> {
  const { os, logger } = options;
  let session: Session | undefined;
  const ui = os.ui;

  const layout = (): UiNode => os.uiLayout();

  const resolve = (s: Session, id: string, tree: UiNode = layout()): UiNode => {
    const ref = s.elements.get(id);
    if (ref === undefined || ref.screen !== ui.current().id) throw staleElement(id);
    const node = nodeAt(tree, ref.path);
    if (node === undefined) throw staleElement(id);
    return node;
  };

  const remember = (s: Session, root: UiNode, node: UiNode): Json => {
    const path = pathOf(root, node) ?? [];
    const id = randomUUID();
    s.elements.set(id, { screen: ui.current().id, path });
    return { ELEMENT: id, [W3C_ELEMENT_KEY]: id };
  };

  const find = (s: Session, body: Json, many: boolean): unknown => {
    const strategy = typeof body.strategy === 'string' ? body.strategy : undefined;
    const selector = typeof body.selector === 'string' ? body.selector : undefined;
    if (strategy === undefined || selector === undefined)
      throw invalidArgument('strategy and selector are required');
    const full = layout();
    const context =
      typeof body.context === 'string' && body.context !== '' ? body.context : undefined;
    const root = context === undefined ? full : resolve(s, context, full);
    let found: UiNode[];
    try {
      found = findNodes(root, strategy, selector);
    } catch (error) {
      if (error instanceof InvalidSelectorError) throw invalidSelector(error.message);
      throw error;
    }
    if (many) return found.map((n) => remember(s, full, n));
    const first = found[0];
    if (first === undefined) throw noSuchElement();
    return remember(s, full, first);
  };

  const pressKey = (keycode: number): void => {
    if (keycode === 4) ui.back();
    else if (keycode === 3) ui.home();
  };

  const deviceInfo = (): Json => ({
    androidId: os.settings.get('secure', 'android_id') ?? '',
    manufacturer: os.props.get('ro.product.manufacturer') ?? '',
    model: os.props.get('ro.product.model') ?? '',
    brand: os.props.get('ro.product.brand') ?? '',
    apiVersion: os.props.get('ro.build.version.sdk') ?? '',
    platformVersion: os.props.get('ro.build.version.release') ?? '',
    carrierName: os.props.get('gsm.operator.alpha') ?? '',
    realDisplaySize: `${DISPLAY.width}x${DISPLAY.height}`,
    displayDensity: DISPLAY.density,
    networks: [],
    locale: 'en_US',
    timeZone: os.props.get('persist.sys.timezone') ?? 'UTC',
    bluetooth: { state: 'OFF' },
  });

  const sessionRoutes: Array<[string, RegExp, Handler]> = [
    ['GET', /^$/, async () => ({})],
    ['POST', /^\/element$/, async ({ session: s, body }) => find(s, body, false)],
    ['POST', /^\/elements$/, async ({ session: s, body }) => find(s, body, true)],
    [
      'POST',
      /^\/element\/([^/]+)\/element$/,
      async ({ session: s, body, params }) => find(s, { ...body, context: params[0] }, false),
    ],
    [
      'POST',
      /^\/element\/([^/]+)\/elements$/,
      async ({ session: s, body, params }) => find(s, { ...body, context: params[0] }, true),
    ],
    [
      'POST',
      /^\/element\/([^/]+)\/click$/,
      async ({ session: s, params }) => {
        const node = resolve(s, params[0] ?? '');
        if (node.element !== undefined) ui.click(node.element);
        return null;
      },
    ],
    [
      'GET',
      /^\/element\/([^/]+)\/text$/,
      async ({ session: s, params }) => resolve(s, params[0] ?? '').text,
    ],
    [
      'GET',
      /^\/element\/([^/]+)\/name$/,
      async ({ session: s, params }) => resolve(s, params[0] ?? '').className,
    ],
    [
      'GET',
      /^\/element\/([^/]+)\/attribute\/([^/]+)$/,
      async ({ session: s, params }) =>
        attributeValue(resolve(s, params[0] ?? ''), decodeURIComponent(params[1] ?? '')),
    ],
    [
      'GET',
      /^\/element\/([^/]+)\/rect$/,
      async ({ session: s, params }) => {
        const b = resolve(s, params[0] ?? '').bounds;
        return { x: b.left, y: b.top, width: b.right - b.left, height: b.bottom - b.top };
      },
    ],
    [
      'GET',
      /^\/element\/([^/]+)\/size$/,
      async ({ session: s, params }) => {
        const b = resolve(s, params[0] ?? '').bounds;
        return { width: b.right - b.left, height: b.bottom - b.top };
      },
    ],
    [
      'GET',
      /^\/element\/([^/]+)\/location$/,
      async ({ session: s, params }) => {
        const b = resolve(s, params[0] ?? '').bounds;
        return { x: b.left, y: b.top };
      },
    ],
    ['POST', /^\/element\/([^/]+)\/(clear|value)$/, async () => null],
    ['GET', /^\/source$/, async () => pageSource(layout())],
    ['GET', /^\/screenshot$/, async () => (await os.screenshot()).toString('base64')],
    ['POST', /^\/back$/, async () => (ui.back(), null)],
    [
      'POST',
      /^\/appium\/device\/(press|long_press)_keycode$/,
      async ({ body }) => {
        if (typeof body.keycode !== 'number') throw invalidArgument('keycode must be a number');
        pressKey(body.keycode);
        return null;
      },
    ],
    [
      'GET',
      /^\/window\/[^/]+\/size$/,
      async () => ({ width: DISPLAY.width, height: DISPLAY.height }),
    ],
    ['GET', /^\/appium\/device\/info$/, async () => deviceInfo()],
    ['GET', /^\/appium\/device\/pixel_ratio$/, async () => DISPLAY.density / 160],
    ['GET', /^\/appium\/device\/display_density$/, async () => DISPLAY.density],
    [
      'GET',
      /^\/appium\/device\/system_bars$/,
      async () => ({
        statusBar: DISPLAY.statusBarHeight,
        navigationBar: DISPLAY.navigationBarHeight,
      }),
    ],
    ['GET', /^\/orientation$/, async () => 'PORTRAIT'],
    ['GET', /^\/rotation$/, async () => ({ x: 0, y: 0, z: 0 })],
    ['GET', /^\/appium\/settings$/, async ({ session: s }) => s.settings],
    [
      'POST',
      /^\/appium\/settings$/,
      async ({ session: s, body }) => {
        const settings = body.settings;
        if (typeof settings !== 'object' || settings === null)
          throw invalidArgument('settings must be an object');
        Object.assign(s.settings, settings);
        return null;
      },
    ],
    ['POST', /^\/appium\/reset_ax_cache$/, async () => null],
    [
      'GET',
      /^\/element\/active$/,
      async () => {
        throw noSuchElement();
      },
    ],
  ];

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
      session = {
        id: randomUUID(),
        capabilities: merged,
        elements: new Map(),
        settings: { ...DEFAULT_SETTINGS },
      };
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
    for (const [routeMethod, pattern, handler] of sessionRoutes) {
      if (routeMethod !== method) continue;
      const match = pattern.exec(rest);
      if (!match) continue;
      const value = await handler({ params: match.slice(1), body, session });
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
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const hostPort = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    hostPort,
    close(): Promise<void> {
      closing ??= new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

export { boundsText };
