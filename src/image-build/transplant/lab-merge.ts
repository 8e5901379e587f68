import { labImageSchema, type LabApp, type LabImage } from '../../android/lab-image.ts';
import type { TransplantPlan } from './types.ts';

/**
 * On a lab base, the behaviour file is the stand-in for the apps' code: the transplant's
 * lab-image.json is the base's with the moved vendor apps (and their behaviours) added at their
 * new paths, so the lab phone runs them on the base.
 */
export function mergeLabImages(
  baseJson: unknown,
  vendorJson: unknown,
  plan: TransplantPlan,
): LabImage {
  const base = labImageSchema.parse(baseJson);
  const vendor = labImageSchema.parse(vendorJson);
  const moved = new Map(plan.moves.map((m) => [m.package, m]));
  const apps: LabApp[] = [];
  for (const app of vendor.apps) {
    const move = moved.get(app.package);
    if (!move) continue;
    const { sharedUserId, ...rest } = app;
    apps.push({
      ...rest,
      path: move.to,
      // The shared system user belongs to the base's platform key: the app runs under its own uid.
      ...(sharedUserId === undefined || sharedUserId === 'android.uid.system'
        ? {}
        : { sharedUserId }),
    });
  }
  const wantedScreens = new Set(apps.flatMap((a) => (a.screen ? [a.screen] : [])));
  const baseScreens = new Set(base.ui?.screens.map((s) => s.id) ?? []);
  const extraScreens = (vendor.ui?.screens ?? []).filter(
    (s) => wantedScreens.has(s.id) && !baseScreens.has(s.id),
  );
  const merged: LabImage = {
    ...base,
    name: `${vendor.name}-on-${base.name}`,
    description: `The vendor apps of ${vendor.name} moved onto the base image ${base.name}.`,
    apps: [...base.apps, ...apps],
  };
  if (extraScreens.length > 0) {
    merged.ui = { ...(base.ui ?? {}), screens: [...(base.ui?.screens ?? []), ...extraScreens] };
  }
  return merged;
}
