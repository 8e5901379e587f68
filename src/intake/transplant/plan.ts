import { posix } from 'node:path';
import type { InventoryApp } from '../inventory/types.ts';
import type { EmulatorHost, RunPlan } from '../run-plan.ts';
import { allowListPath } from '../../image-build/transplant/allow-list.ts';
import type {
  BaseCandidate,
  BaseCatalogue,
  TransplantBase,
  TransplantMove,
  TransplantPlan,
  TransplantSkip,
} from '../../image-build/transplant/types.ts';

/** The vendor image as the plan sees it: build facts and its inventory. */
export interface TransplantVendor {
  apiLevel: number | undefined;
  abis: readonly string[];
  manufacturer: string | undefined;
  /**
   * It carries a lab behaviour file: its apps' behaviour exists only as lab data, which only the
   * lab phone runs, so only a lab base will do. A real image's apps need a real emulator.
   */
  labBehaviour: boolean;
  apps: readonly InventoryApp[];
}

/** The apps a base already holds (package and path); SDK bases are inventoried for this. */
export type BaseApps = (
  base: BaseCandidate,
) => Promise<ReadonlyArray<{ package: string; path: string }>>;

/**
 * Turns a `static-only` plan into a transplant when a base of the vendor's API level (and, for
 * the emulator, a runnable ABI) is available; otherwise keeps static-only and says precisely
 * which base would be needed and how to supply one.
 */
export async function planTransplant(
  vendor: TransplantVendor,
  asIs: RunPlan,
  catalogue: BaseCatalogue,
  emulator: EmulatorHost | undefined,
  baseApps: BaseApps,
): Promise<RunPlan> {
  if (asIs.mode !== 'static-only') return asIs;
  const api = vendor.apiLevel;
  if (api === undefined) {
    return staticOnly(
      asIs,
      'its build.prop has no ro.build.version.sdk, so no base image of the same API level can be chosen',
    );
  }
  const chosen = chooseBase(vendor, api, catalogue, emulator);
  if (typeof chosen === 'string') return staticOnly(asIs, chosen);

  const apps = await baseApps(chosen);
  const transplant = planMoves(vendor, chosen, apps);
  if (transplant.moves.length === 0) {
    return staticOnly(
      asIs,
      `every pre-installed app of the image is also on the base ${chosen.name}, so running the base would observe nothing of this firmware`,
    );
  }
  const where = chosen.kind === 'lab' ? 'the lab phone' : 'the SDK emulator';
  const count = transplant.moves.length;
  return {
    mode: 'transplant',
    reason: `${asIs.reason}; so its ${count} vendor app${count === 1 ? '' : 's'} ${count === 1 ? 'is' : 'are'} moved onto the base image ${chosen.name} (API ${api}, ${chosen.abi}), which boots on ${where}`,
    transplant,
  };
}

function staticOnly(asIs: RunPlan, why: string): RunPlan {
  return {
    mode: 'static-only',
    reason: `${asIs.reason}; no transplant: ${why}; only the static findings apply`,
  };
}

/** The base to use, or the reason there is none (one sentence naming what would be needed). */
function chooseBase(
  vendor: TransplantVendor,
  api: number,
  catalogue: BaseCatalogue,
  emulator: EmulatorHost | undefined,
): BaseCandidate | string {
  const searched = catalogue.searched.length > 0 ? catalogue.searched.join(', ') : 'nowhere';
  const others = (list: readonly BaseCandidate[]) =>
    list.length === 0
      ? 'none'
      : list.map((c) => `${c.name} (API ${c.apiLevel}, ${c.abi})`).join(', ');
  if (vendor.labBehaviour) {
    const lab = catalogue.candidates.filter((c) => c.kind === 'lab');
    const same = lab.filter((c) => c.apiLevel === api);
    const first = same[0];
    if (first) return first;
    return `its apps' behaviour is a lab behaviour file, which only the lab phone runs, and there is no lab base image of API ${api} (searched ${searched}; lab bases found: ${others(lab)}); add a stock lab image of API ${api} as images/lab/base-api${api}.json or put one in a directory named by CANARYTRAP_BASE_IMAGES`;
  }
  const sdk = catalogue.candidates.filter((c) => c.kind === 'sdk');
  const suggestion = `install one with \`sdkmanager "system-images;android-${api};default;${emulator?.abis[0] ?? 'x86_64'}"\` or put an emulator system-image directory of API ${api} in a directory named by CANARYTRAP_BASE_IMAGES`;
  if (!emulator) {
    return `moving its apps needs an emulator base image of API ${api} and the Android SDK emulator to boot it, and no emulator is installed here (set ANDROID_HOME to an SDK with the emulator package); lab bases run lab behaviour files only, not real app code`;
  }
  const same = sdk.filter((c) => c.apiLevel === api);
  const runnable = same
    .filter((c) => emulator.abis.includes(c.abi))
    .sort((a, b) => rank(a, emulator) - rank(b, emulator) || a.name.localeCompare(b.name));
  const first = runnable[0];
  if (first) return first;
  if (same.length > 0) {
    return `the emulator system images of API ${api} here are for ${[...new Set(same.map((c) => c.abi))].join(', ')}, and the emulator on this host runs ${emulator.abis.join(', ')}; ${suggestion}`;
  }
  return `there is no emulator system image of API ${api} (searched ${searched}; found: ${others(sdk)}); ${suggestion}`;
}

/** Lower is better: the host's preferred ABI, then the plainest image (default, then google_apis). */
function rank(candidate: BaseCandidate, emulator: EmulatorHost): number {
  const tag = candidate.name.includes(';default;')
    ? 0
    : candidate.name.includes(';google_apis;')
      ? 1
      : 2;
  return emulator.abis.indexOf(candidate.abi) * 10 + tag;
}

function planMoves(
  vendor: TransplantVendor,
  candidate: BaseCandidate,
  baseApps: ReadonlyArray<{ package: string; path: string }>,
): TransplantPlan {
  const base: TransplantBase = {
    kind: candidate.kind,
    name: candidate.name,
    apiLevel: candidate.apiLevel,
    abi: candidate.abi,
    launcher: candidate.kind === 'lab' ? 'lab-phone' : 'sdk-emulator',
  };
  const basePackages = new Set(baseApps.map((a) => a.package));
  const takenDirs = new Set(baseApps.map((a) => appDir(a.path)));
  const moves: TransplantMove[] = [];
  const skipped: TransplantSkip[] = [];
  for (const app of [...vendor.apps].sort((a, b) => a.path.localeCompare(b.path))) {
    if (basePackages.has(app.package)) {
      skipped.push({
        package: app.package,
        path: app.path,
        reason: `the base has its own ${app.package}; the vendor's copy stays behind`,
      });
      continue;
    }
    const placement = app.privileged ? 'priv-app' : 'app';
    let dir = `/system/${placement}/${appName(app.path)}`;
    // A vendor app named like a different base app gets a directory of its own.
    for (let n = 2; takenDirs.has(dir); n++) dir = `/system/${placement}/${appName(app.path)}-${n}`;
    takenDirs.add(dir);
    moves.push({
      package: app.package,
      from: app.path,
      to: `${dir}/${posix.basename(app.path)}`,
      placement,
      resign: app.systemUid,
      privilegedPermissions:
        placement === 'priv-app'
          ? app.permissions.filter((p) => p.protection === 'privileged').map((p) => p.name)
          : [],
      losses: losses(app, base),
    });
  }
  const limitations = moves.flatMap((m) => m.losses.map((loss) => `${m.package}: ${loss}`));
  limitations.push(
    `the vendor apps run on the framework of ${base.name}, not on the vendor's own: vendor framework changes, services and pre-installed apps left behind are absent`,
  );
  if (base.kind === 'sdk') {
    limitations.push(
      `the built system image carries no SELinux file labels (they are not copied from ${base.name}); an enforcing boot may deny the apps what the base's own apps may do`,
    );
  }
  const vendorAbi = vendor.abis[0];
  if (base.kind === 'sdk' && vendorAbi !== undefined && !vendor.abis.includes(base.abi)) {
    limitations.push(
      `the vendor image is built for ${vendor.abis.join(', ')}; native libraries of its apps do not load on the ${base.abi} base`,
    );
  }
  return {
    base,
    moves,
    skipped,
    allowList: {
      path: allowListPath(vendor.manufacturer),
      entries: moves
        .filter((m) => m.privilegedPermissions.length > 0)
        .map((m) => ({ package: m.package, permissions: [...m.privilegedPermissions].sort() })),
    },
    limitations,
  };
}

function losses(app: InventoryApp, base: TransplantBase): string[] {
  const found: string[] = [];
  if (app.platformSigned || app.systemUid) {
    found.push(
      `signed with the vendor's platform key, it loses the platform signature on ${base.name} (whose platform key is another): permissions granted only to platform-signed apps are not granted`,
    );
  }
  if (app.systemUid) {
    found.push(
      `it runs as android.uid.system on the vendor's firmware, a shared user only the platform key of ${base.name} may join: its manifest's sharedUserId is removed and it is re-signed with a key made for the transplant, so it runs under a uid of its own and a check of its own signature sees another certificate`,
    );
  }
  return found;
}

/** The directory an APK lives in; a flat APK (older layout) is its own directory. */
function appDir(path: string): string {
  const dir = posix.dirname(path);
  return /^\/system\/(priv-)?app$/.test(dir) ? path.replace(/\.apk$/, '') : dir;
}

function appName(path: string): string {
  return posix.basename(appDir(path));
}
