import { ANALYSIS_DEFAULTS } from '../config.ts';
import { randomBytes, randomInt } from 'node:crypto';
import type { Canary, CanaryKind, CanarySet } from './types.ts';

/**
 * Fresh synthetic canaries for one run. Every value is safe (fictional ranges, example.org,
 * test MCC 001, locally administered MACs) and distinctive enough that a match is not chance,
 * and every run gets new values so a leak can be tied to one run.
 */

const FIRST_NAMES = [
  'Ilse',
  'Tomasz',
  'Ayodele',
  'Marisol',
  'Kenji',
  'Oksana',
  'Dariusz',
  'Leilani',
  'Anouk',
  'Thiago',
];
const LAST_NAMES = [
  'Quenneville',
  'Zarzycki',
  'Okonkwo',
  'Valderrama',
  'Hoshino',
  'Lysenko',
  'Brzezinski',
  'Kahananui',
  'Vermeulen',
  'Albuquerque',
];
const WORDS = [
  'amber',
  'falcon',
  'harbor',
  'quartz',
  'meadow',
  'copper',
  'violet',
  'glacier',
  'lantern',
  'orchid',
  'saffron',
  'thistle',
];

function pick<T>(items: readonly T[]): T {
  const item = items[randomInt(items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

function digits(count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += String(randomInt(10));
  return out;
}

/** The Luhn check digit for a string of digits (IMEI, ICCID). */
export function luhnCheckDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

/** A fictional NANP number, +1 <area> 555-01xx, distinct within one set. */
function phoneNumber(used: Set<string>): string {
  for (;;) {
    const area = `${2 + randomInt(8)}${digits(2)}`;
    const value = `+1${area}55501${digits(2)}`;
    if (!used.has(value)) {
      used.add(value);
      return value;
    }
  }
}

function token(length: number): string {
  return randomBytes(length).toString('hex').slice(0, length);
}

export interface GenerateOptions {
  runId: string;
  /** How many SMS, contacts and calls to plant. Default 3 each. */
  perProvider?: number;
}

/** How the canaries sit on the device: which value goes where. Values, ready for planting. */
export interface PlantPlan {
  identity: {
    imei: string;
    imsi: string;
    iccid: string;
    phoneNumber: string;
    androidId: string;
    serial: string;
    wifiMac: string;
    account: string;
  };
  location: { latitude: number; longitude: number };
  contacts: Array<{ name: string; phone: string; email: string; note?: string }>;
  smsInbox: Array<{ from: string; body: string }>;
  smsSent: Array<{ to: string; body: string }>;
  /** CallLog.Calls.TYPE: 1 incoming, 2 outgoing, 3 missed. */
  calls: Array<{ number: string; type: 1 | 2 | 3; durationSeconds: number }>;
}

export interface GeneratedCanaries {
  set: CanarySet;
  plan: PlantPlan;
}

export function generateCanaries(options: GenerateOptions): GeneratedCanaries {
  const n = options.perProvider ?? ANALYSIS_DEFAULTS.perProvider;
  const canaries: Canary[] = [];
  const usedNumbers = new Set<string>();
  const add = (kind: CanaryKind, value: string, context: string): string => {
    canaries.push({ id: `c${String(canaries.length + 1).padStart(2, '0')}`, kind, value, context });
    return value;
  };

  const imeiBody = `35${digits(12)}`;
  const iccidBody = `8900101${digits(11)}`;
  // Locally administered, unicast: the second hex digit of the first octet is 2, 6, a or e.
  const mac = [
    `${token(1)}${pick(['2', '6', 'a', 'e'])}`,
    ...Array.from({ length: 5 }, () => token(2)),
  ].join(':');
  const latitude = randomInt(-60_000_000, 60_000_000) / 1_000_000;
  const longitude = randomInt(-170_000_000, 170_000_000) / 1_000_000;
  const identity = {
    imei: add('imei', imeiBody + luhnCheckDigit(imeiBody), 'device identifier (IMEI)'),
    imsi: add('imsi', `00101${digits(10)}`, 'subscriber identity (IMSI, test network 001-01)'),
    iccid: add('iccid', iccidBody + luhnCheckDigit(iccidBody), 'SIM serial (ICCID)'),
    phoneNumber: add('phone_number', phoneNumber(usedNumbers), 'line 1 number of this device'),
    androidId: add('android_id', token(16), 'Settings.Secure.ANDROID_ID'),
    serial: add('serial', `CT${token(10).toUpperCase()}`, 'hardware serial (Build.getSerial)'),
    wifiMac: add('wifi_mac', mac, 'Wi-Fi MAC address'),
    account: add(
      'account',
      `${pick(WORDS)}.${token(6)}@example.org`,
      'account registered on the device',
    ),
  };
  add(
    'location',
    `${latitude.toFixed(6)},${longitude.toFixed(6)}`,
    'last known location (latitude,longitude)',
  );

  const contacts: PlantPlan['contacts'] = [];
  for (let i = 0; i < n; i++) {
    const name = add(
      'contact_name',
      `${pick(FIRST_NAMES)} ${pick(LAST_NAMES)}${token(6)}`,
      `contact ${i + 1}`,
    );
    const phone = add('phone_number', phoneNumber(usedNumbers), `phone number of contact ${i + 1}`);
    const first = name.split(' ')[0]?.toLowerCase() ?? 'contact';
    const email = add('email', `${first}.${token(6)}@example.org`, `email of contact ${i + 1}`);
    contacts.push({ name, phone, email });
  }
  const first = contacts[0];
  if (first)
    first.note = add(
      'free_text',
      `Note ${pick(WORDS)} ${pick(WORDS)} ${token(8)}`,
      'note on contact 1',
    );

  const smsInbox: PlantPlan['smsInbox'] = [];
  for (let i = 0; i < n; i++) {
    const from = add('phone_number', phoneNumber(usedNumbers), `sender of SMS ${i + 1}`);
    const body = add(
      'sms_body',
      `Your code ${digits(6)} for ${pick(WORDS)} ${token(6)}`,
      `body of SMS ${i + 1}`,
    );
    smsInbox.push({ from, body });
  }
  const smsSent: PlantPlan['smsSent'] = [];
  if (first) {
    const body = add(
      'sms_body',
      `Meet at ${pick(WORDS)} gate ${token(6)}`,
      'body of an SMS sent to contact 1',
    );
    smsSent.push({ to: first.phone, body });
  }
  const calls: PlantPlan['calls'] = [];
  for (let i = 0; i < n; i++) {
    const number = add('call_number', phoneNumber(usedNumbers), `call-log entry ${i + 1}`);
    calls.push({
      number,
      type: ([1, 2, 3] as const)[i % 3] ?? 1,
      durationSeconds: 30 + randomInt(600),
    });
  }
  return {
    set: { version: 1, runId: options.runId, canaries },
    plan: { identity, location: { latitude, longitude }, contacts, smsInbox, smsSent, calls },
  };
}
