import { InputError } from '../errors.ts';
import { numberFromText } from '../queue/job-options.ts';

export interface WholeNumberRule {
  /** The flag as typed, for the message: `--concurrency`. */
  flag: string;
  min: number;
  max: number;
  /** The error code of a refusal (mapped to exit 2 in runtime.ts). */
  code: string;
  /** What the flag wants, for the hint: `the number of analyses to run at once`. */
  expect: string;
}

/**
 * A whole-number flag: "abc", "", "1.5", "0x10" and values out of range are refused, never read
 * as NaN, a default or a rounded number.
 */
export function wholeNumberFlag(text: string, rule: WholeNumberRule): number {
  const value = numberFromText(text);
  if (Number.isInteger(value) && value >= rule.min && value <= rule.max) return value;
  throw new InputError(rule.code, `${rule.flag} ${JSON.stringify(text)} is not valid`, {
    hint: `give ${rule.flag} ${rule.expect}, a whole number from ${rule.min} to ${rule.max}`,
  });
}

/** `--timeout <seconds>` of the commands that wait on a run: up to a week. */
export function timeoutFlagMs(text: string): number {
  const seconds = wholeNumberFlag(text, {
    flag: '--timeout',
    min: 1,
    max: 7 * 24 * 3600,
    code: 'timeout-invalid',
    expect: 'the seconds to wait',
  });
  return seconds * 1000;
}
