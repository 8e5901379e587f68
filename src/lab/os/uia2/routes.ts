import { DISPLAY } from '../ui/layout.ts';
import { pageSource } from '../ui/page-source.ts';
import { invalidArgument, noSuchElement } from './errors.ts';
import { clickGesture, performActions, type GestureTarget } from './gestures.ts';
import { attributeValue, type Json, type Uia2Session } from './session.ts';

type Handler = (session: Uia2Session, params: string[], body: Json) => Promise<unknown>;

/** A command under `/session/:id`: method, the rest of the path, and what answers it. */
export type Route = [method: string, path: RegExp, handler: Handler];

const KEYCODE_HOME = 3;
const KEYCODE_BACK = 4;

function gestures(session: Uia2Session): GestureTarget {
  return {
    boundsOf: (id) => session.resolve(id).bounds,
    tap: (x, y) => session.os.tapAt(x, y),
  };
}

function deviceInfo(session: Uia2Session): Json {
  const { os } = session;
  return {
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
  };
}

const element = (s: Uia2Session, params: string[]) => s.resolve(params[0] ?? '');

/**
 * The session commands the UiAutomator2 driver proxies, with the paths and JSON of the real
 * server's AppiumServlet; what is not listed answers `unknown command`.
 */
export const SESSION_ROUTES: readonly Route[] = [
  ['GET', /^$/, async () => ({})],
  ['POST', /^\/element$/, async (s, _p, body) => s.find(body, false)],
  ['POST', /^\/elements$/, async (s, _p, body) => s.find(body, true)],
  [
    'POST',
    /^\/element\/([^/]+)\/element$/,
    async (s, p, body) => s.find({ ...body, context: p[0] }, false),
  ],
  [
    'POST',
    /^\/element\/([^/]+)\/elements$/,
    async (s, p, body) => s.find({ ...body, context: p[0] }, true),
  ],
  [
    'POST',
    /^\/element\/([^/]+)\/click$/,
    async (s, p) => {
      const node = element(s, p);
      if (node.element !== undefined) s.os.ui.click(node.element);
      return null;
    },
  ],
  ['GET', /^\/element\/([^/]+)\/text$/, async (s, p) => element(s, p).text],
  ['GET', /^\/element\/([^/]+)\/name$/, async (s, p) => element(s, p).className],
  [
    'GET',
    /^\/element\/([^/]+)\/attribute\/([^/]+)$/,
    async (s, p) => attributeValue(element(s, p), decodeURIComponent(p[1] ?? '')),
  ],
  [
    'GET',
    /^\/element\/([^/]+)\/rect$/,
    async (s, p) => {
      const b = element(s, p).bounds;
      return { x: b.left, y: b.top, width: b.right - b.left, height: b.bottom - b.top };
    },
  ],
  [
    'GET',
    /^\/element\/([^/]+)\/size$/,
    async (s, p) => {
      const b = element(s, p).bounds;
      return { width: b.right - b.left, height: b.bottom - b.top };
    },
  ],
  [
    'GET',
    /^\/element\/([^/]+)\/location$/,
    async (s, p) => {
      const b = element(s, p).bounds;
      return { x: b.left, y: b.top };
    },
  ],
  [
    'POST',
    /^\/element\/([^/]+)\/(clear|value)$/,
    async (s, p, body) => {
      const node = element(s, p);
      const text =
        p[1] === 'clear'
          ? ''
          : typeof body.text === 'string'
            ? body.text
            : Array.isArray(body.value)
              ? body.value.join('')
              : undefined;
      if (text === undefined) throw invalidArgument('text or value is required');
      // Only EditText takes text, as UiObject2.setText on another view does nothing.
      if (node.element !== undefined) s.os.ui.type(node.element, text);
      return null;
    },
  ],
  ['GET', /^\/source$/, async (s) => pageSource(s.os.uiLayout())],
  ['GET', /^\/screenshot$/, async (s) => (await s.os.screenshot()).toString('base64')],
  ['POST', /^\/back$/, async (s) => (s.os.ui.back(), null)],
  [
    'POST',
    /^\/appium\/device\/(press|long_press)_keycode$/,
    async (s, _p, body) => {
      if (typeof body.keycode !== 'number') throw invalidArgument('keycode must be a number');
      if (body.keycode === KEYCODE_BACK) s.os.ui.back();
      else if (body.keycode === KEYCODE_HOME) s.os.ui.home();
      return null;
    },
  ],
  [
    'GET',
    /^\/window\/[^/]+\/size$/,
    async () => ({ width: DISPLAY.width, height: DISPLAY.height }),
  ],
  ['GET', /^\/appium\/device\/info$/, async (s) => deviceInfo(s)],
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
  ['GET', /^\/appium\/settings$/, async (s) => s.settings],
  [
    'POST',
    /^\/appium\/settings$/,
    async (s, _p, body) => {
      const settings = body.settings;
      if (typeof settings !== 'object' || settings === null)
        throw invalidArgument('settings must be an object');
      Object.assign(s.settings, settings);
      return null;
    },
  ],
  ['POST', /^\/appium\/reset_ax_cache$/, async () => null],
  ['POST', /^\/actions$/, async (s, _p, body) => (performActions(body, gestures(s)), null)],
  [
    'POST',
    /^\/appium\/gestures\/click$/,
    async (s, _p, body) => (clickGesture(body, gestures(s)), null),
  ],
  [
    'GET',
    /^\/element\/active$/,
    async () => {
      throw noSuchElement();
    },
  ],
];
