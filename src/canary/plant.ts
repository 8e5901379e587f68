import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Device } from '../device/device.ts';
import { bind, parseContentRows, shQuote } from '../device/shell-quote.ts';
import { CanarytrapError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { PlantPlan } from './generate.ts';

/** Device path of the identity file: the values the identity hooks answer for IMEI, IMSI... */
export const IDENTITY_PATH = '/data/local/tmp/canarytrap/identity.json';

export interface PlantReport {
  /** What was planted and read back, one line each ("sms inbox: 3/3"). */
  verified: string[];
}

/**
 * Plants the canaries on a device through its real paths: SMS through the console's `sms send`
 * (the radio's receive path), contacts, sent SMS and call-log entries through `content insert`
 * as root, a call through `gsm call`/`gsm accept`/`gsm cancel`, location through `geo fix`,
 * identifiers through the identity file and `settings`. Then reads every one back.
 */
export async function plantCanaries(
  device: Device,
  plan: PlantPlan,
  logger: Logger,
): Promise<PlantReport> {
  const verified: string[] = [];
  await plantIdentity(device, plan.identity);
  const androidId = (await device.shell('settings get secure android_id')).stdout.trim();
  expect(androidId === plan.identity.androidId, 'android_id', `settings returned "${androidId}"`);
  verified.push('identity: android_id and identity file');

  await device.console(`geo fix ${plan.location.longitude} ${plan.location.latitude}`);
  verified.push('location: geo fix accepted');

  for (const contact of plan.contacts) await insertContact(device, contact);
  const names = await queryColumn(
    device,
    'content://com.android.contacts/raw_contacts',
    'display_name',
  );
  const missingContacts = plan.contacts.filter((c) => !names.includes(c.name));
  expect(
    missingContacts.length === 0,
    'contacts',
    `missing ${missingContacts.map((c) => c.name).join(', ')}`,
  );
  verified.push(`contacts: ${plan.contacts.length}/${plan.contacts.length}`);

  for (const sms of plan.smsInbox)
    await device.console(`sms send ${sms.from.replace(/^\+/, '')} ${sms.body}`);
  const now = Date.now();
  for (const sms of plan.smsSent) {
    await device.shell(
      [
        'content insert --uri content://sms/sent',
        bind('address', 's', sms.to),
        bind('body', 's', sms.body),
        bind('type', 'i', 2),
        bind('date', 'l', now),
      ].join(' '),
    );
  }
  const bodies = await queryColumn(device, 'content://sms', 'body');
  const missingSms = [...plan.smsInbox, ...plan.smsSent].filter((s) => !bodies.includes(s.body));
  expect(
    missingSms.length === 0,
    'sms',
    `missing bodies: ${missingSms.map((s) => s.body).join(' | ')}`,
  );
  verified.push(`sms: ${plan.smsInbox.length} received, ${plan.smsSent.length} sent`);

  const [first, ...rest] = plan.calls;
  if (first) {
    // One call through the modem's real path, so the dialer writes its own call-log entry.
    const number = first.number.replace(/^\+/, '');
    await device.console(`gsm call ${number}`);
    await device.console(`gsm accept ${number}`);
    await device.console(`gsm cancel ${number}`);
  }
  for (const call of rest) {
    await device.shell(
      [
        'content insert --uri content://call_log/calls',
        bind('number', 's', call.number),
        bind('type', 'i', call.type),
        bind('duration', 'i', call.durationSeconds),
        bind('date', 'l', now - call.durationSeconds * 1000),
      ].join(' '),
    );
  }
  const numbers = (await queryColumn(device, 'content://call_log/calls', 'number')).map((n) =>
    n.replace(/^\+/, ''),
  );
  const missingCalls = plan.calls.filter((c) => !numbers.includes(c.number.replace(/^\+/, '')));
  expect(
    missingCalls.length === 0,
    'call log',
    `missing ${missingCalls.map((c) => c.number).join(', ')}`,
  );
  verified.push(`call log: ${plan.calls.length}/${plan.calls.length}`);
  logger.info({ verified }, 'canaries planted');
  return { verified };
}

async function plantIdentity(device: Device, identity: PlantPlan['identity']): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'canarytrap-identity-'));
  try {
    const file = join(dir, 'identity.json');
    const { account, ...ids } = identity;
    await writeFile(file, JSON.stringify({ ...ids, accounts: [account] }));
    await device.shell('mkdir -p /data/local/tmp/canarytrap');
    await device.push(file, IDENTITY_PATH);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await device.shell(`settings put secure android_id ${shQuote(identity.androidId)}`);
}

async function insertContact(
  device: Device,
  contact: PlantPlan['contacts'][number],
): Promise<void> {
  await device.shell(
    [
      'content insert --uri content://com.android.contacts/raw_contacts',
      bind('account_type', 'n', ''),
      bind('account_name', 'n', ''),
    ].join(' '),
  );
  const ids = (await queryColumn(device, 'content://com.android.contacts/raw_contacts', '_id')).map(
    Number,
  );
  const rawId = Math.max(...ids);
  if (!Number.isFinite(rawId))
    throw new CanarytrapError('plant-failed', 'no raw contact id after inserting a contact');
  const data = (mimetype: string, value: string, extra = '') =>
    device.shell(
      [
        'content insert --uri content://com.android.contacts/data',
        bind('raw_contact_id', 'i', rawId),
        bind('mimetype', 's', mimetype),
        bind('data1', 's', value),
        extra,
      ]
        .join(' ')
        .trim(),
    );
  await data('vnd.android.cursor.item/name', contact.name);
  await data('vnd.android.cursor.item/phone_v2', contact.phone, bind('data2', 'i', 2));
  await data('vnd.android.cursor.item/email_v2', contact.email, bind('data2', 'i', 1));
  if (contact.note) await data('vnd.android.cursor.item/note', contact.note);
}

async function queryColumn(device: Device, uri: string, column: string): Promise<string[]> {
  const { stdout } = await device.shell(`content query --uri ${uri} --projection ${column}`);
  return parseContentRows(stdout, [column]).map((row) => row[column] ?? '');
}

function expect(ok: boolean, what: string, detail: string): void {
  if (!ok) {
    throw new CanarytrapError(
      'plant-verify-failed',
      `planted ${what} did not read back: ${detail}`,
      {
        hint: 'the image may lack the provider or root; see the device log in the run directory',
      },
    );
  }
}
