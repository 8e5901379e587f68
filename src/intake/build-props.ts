/** build.prop as Android writes it: `key=value` lines, `#` comments, later keys win. */
export function parseBuildProp(text: string): Map<string, string> {
  const props = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    props.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return props;
}

/** The facts about a build that intake records, all taken from build.prop. */
export interface BuildFacts {
  fingerprint: string | undefined;
  manufacturer: string | undefined;
  brand: string | undefined;
  model: string | undefined;
  device: string | undefined;
  product: string | undefined;
  androidVersion: string | undefined;
  apiLevel: number | undefined;
  abis: string[];
  securityPatch: string | undefined;
  incremental: string | undefined;
  buildType: string | undefined;
  /** `<manufacturer>/<model>` lowercased: images of one lineage are diffed against each other. */
  lineage: string | undefined;
}

export function buildFacts(props: ReadonlyMap<string, string>): BuildFacts {
  // Android 10+ system images move product keys to ro.product.system.*; older ones use ro.product.*.
  const first = (...keys: string[]): string | undefined => {
    for (const key of keys) {
      const value = props.get(key);
      if (value !== undefined && value !== '') return value;
    }
    return undefined;
  };
  const product = (name: string) => first(`ro.product.${name}`, `ro.product.system.${name}`);
  const manufacturer = product('manufacturer');
  const model = product('model');
  const sdk = Number(first('ro.build.version.sdk', 'ro.system.build.version.sdk'));
  const abiList = first('ro.product.cpu.abilist', 'ro.system.product.cpu.abilist');
  const abi = first('ro.product.cpu.abi');
  const abis = abiList
    ? abiList
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean)
    : abi
      ? [abi]
      : [];
  return {
    fingerprint: first('ro.build.fingerprint', 'ro.system.build.fingerprint'),
    manufacturer,
    brand: product('brand'),
    model,
    device: product('device'),
    product: product('name'),
    androidVersion: first('ro.build.version.release', 'ro.system.build.version.release'),
    apiLevel: Number.isInteger(sdk) && sdk > 0 ? sdk : undefined,
    abis,
    securityPatch: first('ro.build.version.security_patch'),
    incremental: first('ro.build.version.incremental', 'ro.system.build.version.incremental'),
    buildType: first('ro.build.type', 'ro.system.build.type'),
    lineage: manufacturer && model ? `${manufacturer}/${model}`.toLowerCase() : undefined,
  };
}
