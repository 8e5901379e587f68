import { base64, isByteArray, toBytes } from '../bytes.ts';
import type { AgentContext } from '../context.ts';
import type { JavaWrapper } from '../frida.ts';
import { callMethod, fieldValue, observe } from '../java.ts';

/** `pm install /sdcard/x.apk`, `pm uninstall com.x`: silent installs done through a shell. */
function packageCommand(context: AgentContext, command: string): void {
  const install = /\bpm\s+install\b(?:\s+-\S+)*\s+(\S+)/.exec(command);
  if (install?.[1]) {
    const path = install[1];
    context.emit(
      { type: 'package.install', target: path.slice(path.lastIndexOf('/') + 1), path },
      true,
    );
  }
  const remove = /\bpm\s+uninstall\b(?:\s+-\S+)*\s+(\S+)/.exec(command);
  if (remove?.[1]) context.emit({ type: 'package.remove', target: remove[1] }, true);
}

function javaStrings(list: unknown): string[] {
  if (Array.isArray(list)) return list.map(String);
  if (list && typeof list === 'object') {
    const array = callMethod(list as JavaWrapper, 'toArray') as ArrayLike<unknown>;
    return Array.from(array, String);
  }
  return [];
}

/**
 * Channels a proxy never sees (hidden SMS) and capabilities of the remote-command kind:
 * Runtime.exec, ProcessBuilder, package installs and removals.
 */
export function installChannelHooks(context: AgentContext): void {
  const { java } = context;
  observe(java, 'android.telephony.SmsManager', 'sendTextMessage', (call) => {
    const [destination, , body] = call.args;
    context.emit({ type: 'sms.send', destination: String(destination), body: String(body) }, true);
  });
  observe(java, 'android.telephony.SmsManager', 'sendMultipartTextMessage', (call) => {
    const [destination, , parts] = call.args;
    context.emit(
      { type: 'sms.send', destination: String(destination), body: javaStrings(parts).join('') },
      true,
    );
  });
  observe(java, 'android.telephony.SmsManager', 'sendDataMessage', (call) => {
    const [destination, , , data] = call.args;
    context.emit(
      {
        type: 'sms.send',
        destination: String(destination),
        ...(isByteArray(data) ? { data: base64(toBytes(data)) } : {}),
      },
      true,
    );
  });

  const exec = (command: string): void => {
    context.emit({ type: 'exec', command }, true);
    packageCommand(context, command);
  };
  observe(java, 'java.lang.Runtime', 'exec', (call) => {
    const [command] = call.args;
    exec(typeof command === 'string' ? command : javaStrings(command).join(' '));
  });
  observe(java, 'java.lang.ProcessBuilder', 'start', (call) => {
    exec(javaStrings(callMethod(call.self, 'command')).join(' '));
  });

  observe(java, 'android.content.pm.PackageInstaller', 'createSession', (call) => {
    const target = fieldValue(call.args[0] as JavaWrapper, 'appPackageName');
    context.emit(
      { type: 'package.install', target: typeof target === 'string' ? target : 'unknown' },
      true,
    );
  });
  observe(java, 'android.content.pm.PackageInstaller', 'uninstall', (call) => {
    const [target] = call.args;
    const name =
      typeof target === 'string'
        ? target
        : String(callMethod(target as JavaWrapper, 'getPackageName'));
    context.emit({ type: 'package.remove', target: name }, true);
  });
}
