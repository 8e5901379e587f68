/**
 * Time formats the device prints, reproduced because the production code parses them:
 * toybox `date`, Java's SimpleDateFormat("yyyy-MM-dd HH:mm:ss") used by dumpsys, and
 * android.util.TimeUtils.formatDuration. The lab phone's time zone is UTC, like a fresh emulator.
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad(n: number, width = 2, fill = '0'): string {
  return String(n).padStart(width, fill);
}

/** strftime subset used by `date +FORMAT`. Unknown conversions are printed as is. */
export function strftime(format: string, ms: number): string {
  const d = new Date(ms);
  const conversions: Record<string, () => string> = {
    a: () => DAYS[d.getUTCDay()] ?? '',
    b: () => MONTHS[d.getUTCMonth()] ?? '',
    h: () => MONTHS[d.getUTCMonth()] ?? '',
    d: () => pad(d.getUTCDate()),
    e: () => pad(d.getUTCDate(), 2, ' '),
    H: () => pad(d.getUTCHours()),
    M: () => pad(d.getUTCMinutes()),
    S: () => pad(d.getUTCSeconds()),
    m: () => pad(d.getUTCMonth() + 1),
    Y: () => String(d.getUTCFullYear()),
    y: () => pad(d.getUTCFullYear() % 100),
    Z: () => 'UTC',
    z: () => '+0000',
    s: () => String(Math.floor(ms / 1000)),
    N: () => pad(d.getUTCMilliseconds() * 1_000_000, 9),
    T: () => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`,
    F: () => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
    '%': () => '%',
  };
  return format.replaceAll(/%(.)/g, (whole, c: string) => conversions[c]?.() ?? whole);
}

/** toybox `date` with no arguments: `Mon Nov 21 05:30:00 UTC 2026`. */
export function toyboxDate(ms: number): string {
  return strftime('%a %b %e %H:%M:%S %Z %Y', ms);
}

/** SimpleDateFormat("yyyy-MM-dd HH:mm:ss") in UTC. */
export function javaDateTime(ms: number): string {
  return strftime('%Y-%m-%d %H:%M:%S', ms);
}

/** android.util.TimeUtils.formatDuration(ms): `+3d0h0m0s0ms`, `-5s12ms`, `0`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  const sign = ms > 0 ? '+' : '-';
  let rest = Math.abs(Math.trunc(ms));
  const millis = rest % 1000;
  rest = Math.floor(rest / 1000);
  const days = Math.floor(rest / 86_400);
  rest -= days * 86_400;
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const seconds = rest - minutes * 60;
  // Fields start at the first non-zero one; after that every field is printed.
  let out = '';
  let started = false;
  for (const [value, unit] of [
    [days, 'd'],
    [hours, 'h'],
    [minutes, 'm'],
    [seconds, 's'],
  ] as const) {
    if (started || value > 0) {
      out += `${value}${unit}`;
      started = true;
    }
  }
  return `${sign}${out}${millis}ms`;
}

/** formatDuration(when, now): the signed distance from now. */
export function formatRelative(when: number, now: number): string {
  return formatDuration(when - now);
}

/**
 * Parses what `date -s` / `date SET` accept: `@SECONDS`, `YYYY-MM-DD[ T]hh:mm[:ss]`,
 * `MMDDhhmm[[CC]YY][.ss]`. Returns ms since the epoch, or undefined.
 */
export function parseDateSetting(text: string, nowMs: number): number | undefined {
  const at = /^@(-?\d+(?:\.\d+)?)$/.exec(text);
  if (at?.[1] !== undefined) return Math.round(Number(at[1]) * 1000);
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (iso) {
    const [, y, mo, d, h = '0', mi = '0', s = '0'] = iso;
    return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  }
  const posix = /^(\d{2})(\d{2})(\d{2})(\d{2})((?:\d{2})?\d{2})?(?:\.(\d{2}))?$/.exec(text);
  if (posix) {
    const [, mo, d, h, mi, yearText, s = '0'] = posix;
    let year = new Date(nowMs).getUTCFullYear();
    if (yearText !== undefined)
      year = yearText.length === 4 ? Number(yearText) : 2000 + Number(yearText);
    return Date.UTC(year, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  }
  return undefined;
}
