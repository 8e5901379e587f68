import type { Canary } from '../canary/types.ts';

/**
 * The written forms of a canary value: the ways people and programs write the same fact
 * (phone number layouts, an IMEI without its check digit, a MAC without separators). Encodings of
 * each form (base64, hex, percent…) are added by variants.ts.
 */
export interface ValueForm {
  text: string;
  /** Name of the form for the evidence, e.g. 'e164', 'national-dashes'. */
  label: string;
  /** Forms that are common enough to be worth every encoding; the others get plain text only. */
  primary: boolean;
  /** Part of a value that only counts together with its siblings (latitude and longitude). */
  part?: { index: number; of: number };
}

/** NANP numbers: E.164, national, and the separators people use. */
export function phoneForms(value: string): ValueForm[] {
  const digits = value.replaceAll(/\D/g, '');
  const national =
    digits.length === 11 && digits.startsWith('1')
      ? digits.slice(1)
      : digits.length === 10
        ? digits
        : undefined;
  if (national === undefined) return [{ text: value, label: 'as-given', primary: true }];
  const a = national.slice(0, 3);
  const b = national.slice(3, 6);
  const c = national.slice(6);
  const forms: ValueForm[] = [
    { text: `+1${national}`, label: 'e164', primary: true },
    { text: national, label: 'national', primary: true },
    { text: `1${national}`, label: 'trunk', primary: false },
    { text: `${a}-${b}-${c}`, label: 'national-dashes', primary: false },
    { text: `(${a}) ${b}-${c}`, label: 'national-parens', primary: false },
    { text: `(${a})${b}-${c}`, label: 'national-parens-tight', primary: false },
    { text: `${a}.${b}.${c}`, label: 'national-dots', primary: false },
    { text: `${a} ${b} ${c}`, label: 'national-spaces', primary: false },
    { text: `+1 ${a} ${b} ${c}`, label: 'intl-spaces', primary: false },
    { text: `+1 ${a}-${b}-${c}`, label: 'intl-dashes', primary: false },
    { text: `+1-${a}-${b}-${c}`, label: 'intl-dashes-all', primary: false },
    { text: `+1 (${a}) ${b}-${c}`, label: 'intl-parens', primary: false },
    { text: `+1.${a}.${b}.${c}`, label: 'intl-dots', primary: false },
    { text: `1-${a}-${b}-${c}`, label: 'trunk-dashes', primary: false },
    { text: `001${national}`, label: 'intl-prefix', primary: false },
  ];
  if (!forms.some((f) => f.text === value))
    forms.push({ text: value, label: 'as-given', primary: true });
  return forms;
}

function macForms(value: string): ValueForm[] {
  const hex = value.replaceAll(/[^0-9a-fA-F]/g, '').toLowerCase();
  if (hex.length !== 12) return [{ text: value, label: 'as-given', primary: true }];
  const pairs = hex.match(/../g) ?? [];
  return [
    { text: pairs.join(':'), label: 'colons', primary: true },
    { text: pairs.join('-'), label: 'dashes', primary: false },
    { text: hex, label: 'bare', primary: true },
  ];
}

/** "lat,lng": the pair as given, with a space, and each coordinate on its own (both must be seen). */
function locationForms(value: string): ValueForm[] {
  const match = /^\s*(-?\d+\.\d+)\s*,\s*(-?\d+\.\d+)\s*$/.exec(value);
  if (!match) return [{ text: value, label: 'as-given', primary: true }];
  const lat = match[1]!;
  const lng = match[2]!;
  const forms: ValueForm[] = [
    { text: `${lat},${lng}`, label: 'pair', primary: true },
    { text: `${lat}, ${lng}`, label: 'pair-spaced', primary: false },
    { text: lat, label: 'latitude', primary: false, part: { index: 0, of: 2 } },
    { text: lng, label: 'longitude', primary: false, part: { index: 1, of: 2 } },
  ];
  // A JSON number or Java's Double.toString drops trailing zeros: 54.687200 is sent as 54.6872.
  const shortLat = shortestDecimal(lat);
  const shortLng = shortestDecimal(lng);
  if (shortLat !== undefined)
    forms.push({
      text: shortLat,
      label: 'latitude-number',
      primary: false,
      part: { index: 0, of: 2 },
    });
  if (shortLng !== undefined)
    forms.push({
      text: shortLng,
      label: 'longitude-number',
      primary: false,
      part: { index: 1, of: 2 },
    });
  return forms;
}

/**
 * The decimal without trailing zeros, when that differs and keeps enough digits (three after the
 * point) to stay specific; undefined otherwise.
 */
function shortestDecimal(text: string): string | undefined {
  const short = text.replace(/0+$/, '');
  if (short === text) return undefined;
  const decimals = short.length - short.indexOf('.') - 1;
  return decimals >= 3 ? short : undefined;
}

export function valueForms(canary: Canary): ValueForm[] {
  const value = canary.value;
  switch (canary.kind) {
    case 'phone_number':
    case 'call_number':
      return phoneForms(value);
    case 'imei':
      // The check digit is often dropped (MEID-style 14 digits); the 14 digits are still unique.
      return /^\d{15}$/.test(value)
        ? [
            { text: value, label: 'imei', primary: true },
            { text: value.slice(0, 14), label: 'imei-no-check-digit', primary: true },
          ]
        : [{ text: value, label: 'as-given', primary: true }];
    case 'wifi_mac':
      return macForms(value);
    case 'location':
      return locationForms(value);
    default:
      return [{ text: value, label: 'as-given', primary: true }];
  }
}

/** Kinds whose value identifies a device or person, so apps send hashes of them as ids. */
export const FINGERPRINTED_KINDS = new Set([
  'phone_number',
  'email',
  'imei',
  'imsi',
  'iccid',
  'android_id',
  'serial',
  'wifi_mac',
  'account',
]);
