import type { AgentContext, SpoofedIdentity } from '../context.ts';
import type { JavaWrapper } from '../frida.ts';
import { callMethod, hookAll, setFieldValue, tryUse } from '../java.ts';

interface Getter {
  className: string;
  method: string;
  /** Which canary answers it when spoofing. */
  identity?: keyof SpoofedIdentity;
}

const GETTERS: Getter[] = [
  { className: 'android.telephony.TelephonyManager', method: 'getDeviceId', identity: 'imei' },
  { className: 'android.telephony.TelephonyManager', method: 'getImei', identity: 'imei' },
  { className: 'android.telephony.TelephonyManager', method: 'getMeid', identity: 'imei' },
  { className: 'android.telephony.TelephonyManager', method: 'getSubscriberId', identity: 'imsi' },
  {
    className: 'android.telephony.TelephonyManager',
    method: 'getSimSerialNumber',
    identity: 'iccid',
  },
  { className: 'android.telephony.TelephonyManager', method: 'getLine1Number', identity: 'line1' },
  { className: 'android.os.Build', method: 'getSerial', identity: 'serial' },
  { className: 'android.net.wifi.WifiInfo', method: 'getMacAddress', identity: 'wifiMac' },
];

export interface IdentifierHookOptions {
  /** Emit `source.read` for each read. */
  report: boolean;
  /** Answer with the configured canary values. */
  spoof: boolean;
}

/**
 * Identifier getters, hooked once for both jobs — reporting who read an identifier and answering
 * with the run's canary — because two hooks on one method would replace each other.
 */
export function installIdentifierHooks(
  context: AgentContext,
  options: IdentifierHookOptions,
): void {
  const spoofed = (key: keyof SpoofedIdentity | undefined): string | undefined =>
    options.spoof && key ? context.identity[key] : undefined;
  const report = (source: string, value: unknown): void => {
    if (!options.report) return;
    context.emit(
      { type: 'source.read', from: source, ...(typeof value === 'string' ? { value } : {}) },
      true,
    );
  };

  for (const getter of GETTERS) {
    const short = getter.className.slice(getter.className.lastIndexOf('.') + 1);
    hookAll(context.java, getter.className, getter.method, (call) => {
      const fake = spoofed(getter.identity);
      const value = fake ?? call.invoke();
      safely(() => report(`${short}.${getter.method}`, value));
      return value;
    });
  }

  hookAll(context.java, 'android.provider.Settings$Secure', 'getString', (call) => {
    const name = call.args[1];
    const fake = name === 'android_id' ? spoofed('androidId') : undefined;
    const value = fake ?? call.invoke();
    if (name === 'android_id') safely(() => report('Settings.Secure.ANDROID_ID', value));
    return value;
  });

  // Build.SERIAL is a field read without any call to hook: set it where spoofing.
  const serial = spoofed('serial');
  const build = serial ? tryUse(context.java, 'android.os.Build') : undefined;
  if (build && serial) setFieldValue(build, 'SERIAL', serial);
}

/** ContentResolver queries on personal data and location reads. */
export function installDataSourceHooks(context: AgentContext): void {
  hookAll(context.java, 'android.content.ContentResolver', 'query', (call) => {
    const result = call.invoke();
    safely(() => {
      const uri = String(callMethod(call.args[0] as JavaWrapper, 'toString'));
      if (/^content:\/\/(sms|mms|contacts|com\.android\.contacts|call_log)(\/|$)/.test(uri))
        context.emit({ type: 'source.read', from: uri }, true);
    });
    return result;
  });
  hookAll(context.java, 'android.location.LocationManager', 'getLastKnownLocation', (call) => {
    const location = call.invoke();
    safely(() => {
      const value =
        location && typeof location === 'object'
          ? `${String(callMethod(location as JavaWrapper, 'getLatitude'))},${String(callMethod(location as JavaWrapper, 'getLongitude'))}`
          : undefined;
      context.emit(
        {
          type: 'source.read',
          from: 'LocationManager.getLastKnownLocation',
          ...(value ? { value } : {}),
        },
        true,
      );
    });
    return location;
  });
}

/** Reporting must never change what the app sees. */
export function safely(report: () => void): void {
  try {
    report();
  } catch {
    // Best effort: the app's call already has its answer.
  }
}
