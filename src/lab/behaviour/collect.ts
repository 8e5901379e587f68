import {
  buildFingerprint,
  type Behaviour,
  type DataItem,
  type LabImage,
} from '../../android/lab-image.ts';
import type { AppEvents } from './app-events.ts';
import type { BehaviourHost } from './host.ts';

/** A JSON value as a collected payload holds it. */
export type PayloadValue =
  string | number | boolean | null | PayloadValue[] | { [key: string]: PayloadValue };
export type Payload = Record<string, PayloadValue>;

/** Longest `value` kept in a `source.read` event: enough to recognise a read, not a data dump. */
const READ_VALUE_MAX = 200;

interface Read {
  /** The content URI or getter a hook on a real device would name. */
  source: string;
  value: PayloadValue;
}

/**
 * Reads what the behaviour collects from the device, as the app's own code would (one content
 * query or getter per item), states each read as a `source.read` event, and returns the payload
 * object: the items in `collect` order, then the behaviour's constant `extra` fields.
 */
export function collectPayload(
  behaviour: Behaviour,
  image: LabImage,
  host: BehaviourHost,
  events: AppEvents,
): Payload {
  const payload: Payload = {};
  for (const item of behaviour.collect) {
    const read = readItem(item, image, host);
    events.emit({ type: 'source.read', from: read.source, value: shortText(read.value) });
    payload[item] = read.value;
  }
  for (const [key, value] of Object.entries(behaviour.extra ?? {})) payload[key] = value;
  return payload;
}

function readItem(item: DataItem, image: LabImage, host: BehaviourHost): Read {
  switch (item) {
    case 'sms':
      return {
        source: 'content://sms',
        value: host
          .readSms()
          .map((sms) => ({ address: sms.address, body: sms.body, date: sms.date, box: sms.box })),
      };
    case 'contacts':
      return {
        source: 'content://com.android.contacts/data',
        value: host.readContacts().map((contact) => ({
          name: contact.name,
          phones: [...contact.phones],
          emails: [...contact.emails],
          note: contact.note ?? null,
        })),
      };
    case 'call_log':
      return {
        source: 'content://call_log/calls',
        value: host.readCallLog().map((call) => ({
          number: call.number,
          type: call.type,
          date: call.date,
          duration: call.duration,
        })),
      };
    case 'imei':
      return { source: 'TelephonyManager.getDeviceId', value: host.identity().imei ?? null };
    case 'imsi':
      return { source: 'TelephonyManager.getSubscriberId', value: host.identity().imsi ?? null };
    case 'iccid':
      return {
        source: 'TelephonyManager.getSimSerialNumber',
        value: host.identity().iccid ?? null,
      };
    case 'phone_number':
      return {
        source: 'TelephonyManager.getLine1Number',
        value: host.identity().phoneNumber ?? null,
      };
    case 'android_id':
      return { source: 'Settings.Secure.ANDROID_ID', value: host.identity().androidId ?? null };
    case 'serial':
      return { source: 'Build.getSerial', value: host.identity().serial ?? null };
    case 'wifi_mac':
      return { source: 'WifiInfo.getMacAddress', value: host.identity().wifiMac ?? null };
    case 'location': {
      const fix = host.location();
      return {
        source: 'LocationManager.getLastKnownLocation',
        value: fix === undefined ? null : { lat: fix.latitude, lng: fix.longitude },
      };
    }
    case 'accounts':
      return { source: 'AccountManager.getAccounts', value: [...(host.identity().accounts ?? [])] };
    case 'build':
      return { source: 'android.os.Build', value: buildInfo(image, host.properties()) };
  }
}

/** android.os.Build as apps read it; the image's build stands in for a property the device lacks. */
function buildInfo(image: LabImage, props: Record<string, string>): Payload {
  const sdk = Number(props['ro.build.version.sdk']);
  return {
    model: props['ro.product.model'] ?? image.build.model,
    brand: props['ro.product.brand'] ?? image.build.brand,
    fingerprint: props['ro.build.fingerprint'] ?? buildFingerprint(image.build),
    version: props['ro.build.version.release'] ?? image.build.release,
    sdk: Number.isInteger(sdk) && sdk > 0 ? sdk : image.build.sdk,
  };
}

function shortText(value: PayloadValue): string | undefined {
  if (value === null) return undefined;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length <= READ_VALUE_MAX ? text : `${text.slice(0, READ_VALUE_MAX - 1)}…`;
}

/**
 * The payload as a query string (`carry: query`): top-level scalars as they are, the fields of
 * an object (build, location) under their own names unless that name is taken, lists as JSON
 * text. URLSearchParams encodes as `application/x-www-form-urlencoded`, as Java's URLEncoder does.
 */
export function payloadQuery(payload: Payload): string {
  const params = new URLSearchParams();
  const nested: Array<[string, Record<string, PayloadValue>]> = [];
  for (const [key, value] of Object.entries(payload)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value))
      nested.push([key, value]);
    else params.append(key, scalarText(value));
  }
  for (const [parent, fields] of nested) {
    for (const [key, value] of Object.entries(fields)) {
      params.append(params.has(key) ? `${parent}_${key}` : key, scalarText(value));
    }
  }
  return params.toString();
}

function scalarText(value: PayloadValue): string {
  if (value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The payload's bytes before the encode steps, as the behaviour's `serialize` asks. */
export function serializePayload(payload: Payload, how: 'json' | 'values'): Buffer {
  if (how === 'json') return Buffer.from(JSON.stringify(payload), 'utf8');
  const lines = Object.values(payload).map((value) =>
    typeof value === 'string' ? value : JSON.stringify(value),
  );
  return Buffer.from(lines.join('\n'), 'utf8');
}
