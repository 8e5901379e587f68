import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CanarytrapError } from '../../errors.ts';
import { buildLabImage } from '../../image-build/lab-images/build-lab-image.ts';
import { buildTransplant, TRANSPLANT_BUILDER_VERSION } from '../../image-build/transplant/build.ts';
import type {
  BaseCandidate,
  BaseCatalogue,
  TransplantOutcome,
  TransplantPlan,
} from '../../image-build/transplant/types.ts';
import { silentLogger, type Logger } from '../../log.ts';
import type { IndicatorRules } from '../indicators.ts';
import { describeEntry, intakeImage } from '../intake.ts';
import type { EmulatorHost } from '../run-plan.ts';
import type { ImageStore } from '../store.ts';
import type { StoredImage } from '../types.ts';

export interface CarryOutOptions {
  /** The catalogue the plan was made from; the base is found in it again by name. */
  catalogue: BaseCatalogue;
  /** Where lab bases are built and cached (`<dataRoot>/cache/lab-images`). */
  labBuildDir: string;
  /** A build cache shared by data roots, if one is set (TransplantSettings.labSharedCache). */
  labSharedCache?: string;
  logger?: Logger;
  /** Per outside tool run. Default 120 s. */
  timeoutMs?: number;
  /**
   * For copying the base's tree out and making the new ext4 (`debugfs rdump`, `mke2fs -d`),
   * which take minutes on a multi-GB SDK image. Default 15 min.
   */
  buildTimeoutMs?: number;
  /** For the built image's own run plan (SDK bases boot in the emulator). */
  emulator?: EmulatorHost;
  indicatorRules?: IndicatorRules | string;
  /** Largest total an erofs vendor image may extract to. Default 16 GiB. */
  maxExtractBytes?: number;
}

export interface CarriedOutTransplant {
  /** The built image, in the store: what the launcher boots. */
  image: StoredImage;
  outcome: TransplantOutcome;
}

/**
 * Carries out the transplant the vendor image's run plan describes: stores the base, has the
 * image built (image-build's buildTransplant), and stores the result with its own inventory
 * under an id derived from the vendor image, the base and the plan, so the same transplant is
 * built once.
 */
export async function carryOutTransplant(
  vendor: StoredImage,
  store: ImageStore,
  options: CarryOutOptions,
): Promise<CarriedOutTransplant> {
  const plan = vendor.inventory.runPlan.transplant;
  if (vendor.inventory.runPlan.mode !== 'transplant' || !plan) {
    throw new CanarytrapError(
      'transplant-not-planned',
      `image ${vendor.id.slice(0, 12)} is not planned for a transplant (its plan is ${vendor.inventory.runPlan.mode})`,
    );
  }
  const logger = (options.logger ?? silentLogger()).child({ transplant: plan.base.name });
  const timeoutMs = options.timeoutMs ?? 120_000;
  const buildTimeoutMs = options.buildTimeoutMs ?? 15 * 60_000;
  const candidate = options.catalogue.candidates.find(
    (c) => c.name === plan.base.name && c.kind === plan.base.kind,
  );
  if (!candidate) {
    throw new CanarytrapError(
      'transplant-base-missing',
      `the base image ${plan.base.name} of the run plan is no longer available here`,
      {
        permanent: true,
        hint: 'put the base image back, or inspect the image again for a new plan',
      },
    );
  }
  const base = await storeBase(candidate, store, options, logger, timeoutMs);
  const id = transplantId(vendor.id, base.id, plan);
  const existing = await store.get(id);
  if (existing) {
    logger.info({ image: id.slice(0, 12) }, 'transplant already built');
    return { image: existing, outcome: outcomeOf(existing, plan, true) };
  }

  const partial = await store.createPartial(id);
  try {
    const entryDir = join(partial, 'entry');
    const workDir = await mkdirIn(partial, 'build');
    const libProblems = await buildTransplant({
      plan,
      base,
      vendor,
      entryDir,
      workDir,
      id,
      timeoutMs,
      buildTimeoutMs,
      maxExtractBytes: options.maxExtractBytes ?? 16 * 1024 ** 3,
    });
    const described = await describeEntry(entryDir, await mkdirIn(workDir, 'describe'), {
      id,
      label: `transplant of ${vendor.metadata.sourceName} onto ${plan.base.name}`,
      sourceKind: 'ext4',
      sourceName: `${vendor.metadata.sourceName} on ${plan.base.name}`,
      timeoutMs,
      maxExtractBytes: options.maxExtractBytes ?? 16 * 1024 ** 3,
      ...(options.indicatorRules === undefined ? {} : { indicatorRules: options.indicatorRules }),
      ...(options.emulator === undefined ? {} : { emulator: options.emulator }),
    });
    const metadata = {
      ...described.metadata,
      transplant: { vendorImageId: vendor.id, baseImageId: base.id, base: plan.base.name },
    };
    const inventory = described.inventory;
    // The built image's own limitations travel with it, so a reused build reports them too.
    inventory.runPlan = {
      ...inventory.runPlan,
      transplant: { ...plan, limitations: [...plan.limitations, ...libProblems] },
    };
    await writeFile(join(entryDir, 'inventory.json'), `${JSON.stringify(inventory, null, 2)}\n`);
    await writeFile(join(entryDir, 'metadata.json'), `${JSON.stringify(metadata, null, 2)}\n`);
    await rm(workDir, { recursive: true, force: true });
    if ((await store.commit(entryDir, id)) === 'exists')
      logger.info('a concurrent run built it first');
    const image = await store.get(id);
    if (!image)
      throw new CanarytrapError('store-inconsistent', `transplant ${id} vanished from the store`);
    logger.info({ image: id.slice(0, 12), apps: plan.moves.length }, 'transplant built');
    return { image: { ...image, reused: false }, outcome: outcomeOf(image, plan, false) };
  } finally {
    await store.discard(partial);
  }
}

async function storeBase(
  candidate: BaseCandidate,
  store: ImageStore,
  lab: { labBuildDir: string; labSharedCache?: string },
  logger: Logger,
  timeoutMs: number,
): Promise<StoredImage> {
  const source =
    candidate.kind === 'lab'
      ? (
          await buildLabImage(
            candidate.source,
            lab.labBuildDir,
            lab.labSharedCache ? { cacheDir: lab.labSharedCache } : {},
          )
        ).zipPath
      : candidate.source;
  return intakeImage(source, store, { logger, timeoutMs });
}

function transplantId(vendorId: string, baseId: string, plan: TransplantPlan): string {
  return createHash('sha256')
    .update(`canarytrap transplant v${TRANSPLANT_BUILDER_VERSION}\n${vendorId}\n${baseId}\n`)
    .update(JSON.stringify({ moves: plan.moves, allowList: plan.allowList }))
    .digest('hex');
}

function outcomeOf(image: StoredImage, plan: TransplantPlan, reused: boolean): TransplantOutcome {
  const onImage = new Map(image.inventory.apps.map((a) => [a.package, a.path]));
  const moved = plan.moves
    .filter((m) => onImage.get(m.package) === m.to)
    .map((m) => ({ package: m.package, path: m.to }));
  const missing = plan.moves
    .filter((m) => onImage.get(m.package) !== m.to)
    .map((m) => ({
      package: m.package,
      path: m.from,
      reason: `it was copied to ${m.to} but the built image's inventory does not list it there`,
    }));
  return {
    imageId: image.id,
    reused,
    base: plan.base,
    moved,
    notMoved: [...plan.skipped, ...missing],
    allowListPath: plan.allowList.entries.length > 0 ? plan.allowList.path : undefined,
    limitations: image.inventory.runPlan.transplant?.limitations ?? plan.limitations,
  };
}

async function mkdirIn(parent: string, name: string): Promise<string> {
  const dir = join(parent, name);
  await mkdir(dir);
  return dir;
}
