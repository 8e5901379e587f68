/**
 * Strings of a dex file, read from its string table (string_ids → MUTF-8 data), and the URLs
 * and hosts among them. Native libraries have no table; their bytes are scanned for URLs.
 */

const DEX_MAGIC = 'dex\n';
/** Vendor dex files hold tens of thousands of strings; beyond this the table is not trusted. */
const MAX_STRINGS = 2_000_000;

export function dexStrings(dex: Buffer): string[] | undefined {
  if (dex.length < 0x70 || dex.toString('latin1', 0, 4) !== DEX_MAGIC) return undefined;
  const count = dex.readUInt32LE(0x38);
  const idsOffset = dex.readUInt32LE(0x3c);
  if (count > MAX_STRINGS || idsOffset + count * 4 > dex.length) return undefined;
  const strings: string[] = [];
  for (let i = 0; i < count; i++) {
    let at = dex.readUInt32LE(idsOffset + i * 4);
    if (at >= dex.length) return undefined;
    // uleb128 length in UTF-16 units, then NUL-terminated MUTF-8 bytes.
    while (at < dex.length && (dex[at] ?? 0) & 0x80) at++;
    at++;
    const end = dex.indexOf(0, at);
    if (end < 0) return undefined;
    strings.push(dex.toString('utf8', at, end));
  }
  return strings;
}

// The path stops at quotes, brackets and controls: in native code a URL is often followed
// directly by the bytes of the next string.
const URL_PATTERN =
  // eslint-disable-next-line no-control-regex
  /https?:\/\/[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?(?:\/[^\s"'<>\\`{}|^\x00-\x1f\x7f-\uffff]*)?/g;

/** URLs in text, trimmed of trailing punctuation that is never part of one. */
export function findUrls(text: string): string[] {
  return [...text.matchAll(URL_PATTERN)].map((m) => m[0].replace(/["'<>),;\\]+$/, ''));
}

export function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

export interface FoundDestinations {
  urls: string[];
  hosts: string[];
}

/** URLs and their hosts in a set of dex files and native libraries. */
export function destinationsIn(
  dexFiles: readonly Buffer[],
  nativeLibs: readonly Buffer[],
): FoundDestinations {
  const urls = new Set<string>();
  for (const dex of dexFiles) {
    const strings = dexStrings(dex) ?? [dex.toString('latin1')];
    for (const s of strings) for (const url of findUrls(s)) urls.add(url);
  }
  for (const lib of nativeLibs) for (const url of findUrls(lib.toString('latin1'))) urls.add(url);
  const hosts = new Set<string>();
  for (const url of urls) {
    const host = hostOf(url);
    if (host) hosts.add(host);
  }
  return { urls: [...urls].sort(), hosts: [...hosts].sort() };
}
