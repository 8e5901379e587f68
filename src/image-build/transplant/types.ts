/**
 * The transplant of a vendor's pre-installed apps onto a base emulator image of the same API
 * level: the plan (serialisable, part of the run plan and the report) and the base images it
 * can choose from.
 */

import type { LauncherName } from '../../config.ts';

/** Where a base image comes from; decides which launcher boots the transplant. */
export type BaseKind = 'lab' | 'sdk';

/** A base image found on this host, before anything is built or stored. */
export interface BaseCandidate {
  kind: BaseKind;
  /** `base-api28` (a lab image) or `system-images;android-28;google_apis;x86_64` (an SDK image). */
  name: string;
  apiLevel: number;
  abi: string;
  /** Lab: the lab image JSON file. SDK: the system-image directory. Never shown in reports. */
  source: string;
  /** Apps a lab base holds, known from its JSON; SDK bases are inventoried when planned. */
  apps?: ReadonlyArray<{ package: string; path: string }>;
}

/** Every base image this host offers, and where they were looked for (for the reasons). */
export interface BaseCatalogue {
  candidates: readonly BaseCandidate[];
  /** Places searched, in words (`images/lab/base-*.json`, `CANARYTRAP_BASE_IMAGES`, ...). */
  searched: readonly string[];
}

export interface TransplantBase {
  kind: BaseKind;
  name: string;
  apiLevel: number;
  abi: string;
  launcher: LauncherName;
}

/** One vendor app moved onto the base. */
export interface TransplantMove {
  package: string;
  /** Its path on the vendor image, e.g. /system/priv-app/ZenoFota/ZenoFota.apk. */
  from: string;
  /** Its path on the base. */
  to: string;
  /** Kept from the vendor image: priv-app stays priv-app, app stays app. */
  placement: 'priv-app' | 'app';
  /**
   * It declares sharedUserId android.uid.system, which only the base's platform key may join:
   * its manifest loses that attribute and it is re-signed with a key made for the transplant.
   */
  resign: boolean;
  /** Privileged permissions it requests: the allow-list grants them (priv-app only). */
  privilegedPermissions: string[];
  /** What it cannot keep on a foreign base, one sentence each; empty when nothing is known. */
  losses: string[];
}

/** A vendor app left where it was, and why. */
export interface TransplantSkip {
  package: string;
  path: string;
  reason: string;
}

export interface TransplantPlan {
  base: TransplantBase;
  moves: TransplantMove[];
  skipped: TransplantSkip[];
  /** The privileged-permission allow-list written onto the base. */
  allowList: {
    /** e.g. /system/etc/permissions/privapp-permissions-zeno.xml */
    path: string;
    entries: Array<{ package: string; permissions: string[] }>;
  };
  /** Everything the run cannot observe as on the vendor's firmware, one sentence each. */
  limitations: string[];
}

/** What a carried-out transplant produced: the run's report shows it beside the plan. */
export interface TransplantOutcome {
  /** Store id of the built image that was booted. */
  imageId: string;
  /** True when the store already held it (the same vendor image on the same base). */
  reused: boolean;
  base: TransplantBase;
  /** Apps on the built image, read back from it (its own inventory). */
  moved: Array<{ package: string; path: string }>;
  /** Vendor apps not on the built image, each with the reason. */
  notMoved: TransplantSkip[];
  allowListPath: string | undefined;
  limitations: string[];
}
