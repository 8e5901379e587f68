import type { LabApp } from '../../android/lab-image.ts';

/**
 * The sources of one lab app's APK: a real AndroidManifest.xml (compiled by aapt2 against the
 * platform's framework-res.apk) and a tiny smali receiver. The receiver carries the app's
 * destinations as string constants so static analysis of the dex finds them, as it would in
 * vendor code.
 */

/** The receiver class every lab app declares, in Java notation. */
export function receiverClassName(app: LabApp): string {
  return `${app.package}.SystemEventReceiver`;
}

export function manifestXml(app: LabApp, sdk: number): string {
  const attrs = [
    'xmlns:android="http://schemas.android.com/apk/res/android"',
    `package="${xmlEscape(app.package)}"`,
    `android:versionCode="${app.versionCode}"`,
    `android:versionName="${xmlEscape(app.versionName)}"`,
    ...(app.sharedUserId === undefined
      ? []
      : [`android:sharedUserId="${xmlEscape(app.sharedUserId)}"`]),
  ];
  const lines = [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<manifest ${attrs.join(' ')}>`,
    `  <uses-sdk android:minSdkVersion="${sdk}" android:targetSdkVersion="${sdk}"/>`,
    ...app.permissions.map((p) => `  <uses-permission android:name="${xmlEscape(p)}"/>`),
    `  <application android:label="${xmlEscape(app.label)}">`,
  ];
  if (app.receivers.length > 0) {
    lines.push(`    <receiver android:name="${receiverClassName(app)}" android:exported="true">`);
    for (const action of app.receivers) {
      lines.push(
        `      <intent-filter><action android:name="${xmlEscape(action)}"/></intent-filter>`,
      );
    }
    lines.push('    </receiver>');
  }
  lines.push('  </application>', '</manifest>', '');
  return lines.join('\n');
}

/** Every destination the app's behaviours talk to, as the literal strings vendor code would hold. */
export function destinationStrings(app: LabApp): string[] {
  const found = new Set<string>();
  for (const behaviour of app.behaviours) {
    const send = behaviour.send;
    switch (send.channel) {
      case 'http':
      case 'https':
        found.add(
          `${send.channel}://${send.host}${send.port === undefined ? '' : `:${send.port}`}${send.path}`,
        );
        break;
      case 'doh':
        found.add(
          `https://${send.host}${send.port === undefined ? '' : `:${send.port}`}${send.path}`,
        );
        break;
      case 'tcp':
      case 'udp':
        found.add(`${send.host}:${send.port}`);
        break;
      case 'icmp':
        found.add(send.host);
        break;
      case 'dns':
        found.add(send.zone);
        break;
      case 'sms':
        found.add(send.destination);
        break;
    }
  }
  return [...found].sort();
}

/** The smali source of the receiver: one class, its constructor, and onReceive loading each destination. */
export function receiverSmali(app: LabApp): { relativePath: string; source: string } {
  const internal = receiverClassName(app).replaceAll('.', '/');
  const strings = destinationStrings(app);
  const fields = strings.map(
    (s, i) =>
      `.field public static final DESTINATION_${i}:Ljava/lang/String; = "${smaliEscape(s)}"`,
  );
  const loads = strings.map((s) => `    const-string v0, "${smaliEscape(s)}"`);
  const source = [
    `.class public L${internal};`,
    '.super Landroid/content/BroadcastReceiver;',
    '',
    ...fields,
    '',
    '.method public constructor <init>()V',
    '    .registers 1',
    '    invoke-direct {p0}, Landroid/content/BroadcastReceiver;-><init>()V',
    '    return-void',
    '.end method',
    '',
    '.method public onReceive(Landroid/content/Context;Landroid/content/Intent;)V',
    '    .registers 4',
    ...loads,
    '    return-void',
    '.end method',
    '',
  ].join('\n');
  return { relativePath: `${internal}.smali`, source };
}

function xmlEscape(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

function smaliEscape(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('"', '\\"');
}
