import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InputError } from '../errors.ts';
import { silentLogger, type Logger } from '../log.ts';
import { LAB_IMAGE_PATH_IN_SYSTEM, labImageSchema } from '../android/lab-image.ts';
import { buildFacts, parseBuildProp } from './build-props.ts';
import { sha256Directory, sha256File } from '../host/hashing.ts';
import { evaluateIndicators, loadIndicatorRules, type IndicatorRules } from './indicators.ts';
import { inventoryApps } from './inventory/inventory-apps.ts';
import { openPartition } from '../android/partition/reader.ts';
import type { PartitionReader } from '../android/partition/types.ts';
import { planRun, type EmulatorHost, type RunPlan } from './run-plan.ts';
import { sniffImage, type ImageKind } from './sniff.ts';
import { planTransplant } from './transplant/plan.ts';
import type { BaseCatalogue } from '../image-build/transplant/types.ts';
import { stageSource } from './stage-source.ts';
import type { ImageStore } from './store.ts';
import type { ImageInventory, ImageMetadata, StoredImage } from './types.ts';
import { DEFAULT_ZIP_LIMITS, type ZipLimits } from '../android/zip-safe.ts';

export interface IntakeOptions {
  logger?: Logger;
  /** Zip-bomb and size limits; unset fields keep DEFAULT_ZIP_LIMITS. */
  zipLimits?: Partial<ZipLimits>;
  /** Largest raw system.img accepted, e.g. from a sparse image. Default 16 GiB. */
  maxImageBytes?: number;
  /** Per outside tool run (debugfs, simg2img, aapt, apksigner). Default 120 s. */
  timeoutMs?: number;
  /** Indicator rules: parsed, or a path; default images/rules/indicators.json. */
  indicatorRules?: IndicatorRules | string;
  /** The SDK emulator on this host, for the run plan; undefined: none. */
  emulator?: EmulatorHost;
  /**
   * Base images to move the apps of an image onto when it cannot boot as it is. Unset: no
   * transplant is planned, and stored plans are returned as they were stored.
   */
  bases?: BaseCatalogue;
}

const MAX_BUILD_PROP_BYTES = 1024 * 1024;
const MAX_LAB_IMAGE_BYTES = 4 * 1024 * 1024;

/**
 * Takes a submitted image into the store: checks it, expands it to a raw system.img (ext4 or
 * erofs), reads
 * its build facts, inventories its apps, applies the indicator rules and plans how to run it.
 * The same image twice is stored once; the second intake returns the entry with `reused: true`.
 */
export async function intakeImage(
  path: string,
  store: ImageStore,
  options: IntakeOptions = {},
): Promise<StoredImage> {
  const logger = options.logger ?? silentLogger();
  const kind = await sniffImage(path);
  const id = kind === 'directory' ? await sha256Directory(path) : await sha256File(path);
  const log = logger.child({ image: id.slice(0, 12), kind });
  const existing = await store.get(id);
  if (existing) {
    log.info('image already stored');
    return replanned(existing, store, options);
  }

  const timeoutMs = options.timeoutMs ?? 120_000;
  const zipLimits = { ...DEFAULT_ZIP_LIMITS, ...options.zipLimits };
  const partial = await store.createPartial(id);
  try {
    const entryDir = join(partial, 'entry');
    const scratch = join(partial, 'scratch');
    await mkdir(scratch);
    await stageSource(path, kind, entryDir, {
      zipLimits,
      maxImageBytes: options.maxImageBytes ?? zipLimits.maxTotalBytes,
      timeoutMs,
      scratchDir: scratch,
    });
    const described = await describeEntry(entryDir, scratch, {
      id,
      label: basename(path),
      sourceKind: kind,
      sourceName: basename(path),
      timeoutMs,
      maxExtractBytes: zipLimits.maxTotalBytes,
      ...(options.indicatorRules === undefined ? {} : { indicatorRules: options.indicatorRules }),
      ...(options.emulator === undefined ? {} : { emulator: options.emulator }),
    });
    const { metadata } = described;
    const inventory: ImageInventory = {
      ...described.inventory,
      runPlan: await transplantIfNeeded(metadata, described.inventory, store, options),
    };
    const { apps } = inventory;
    await writeFile(join(entryDir, 'inventory.json'), `${JSON.stringify(inventory, null, 2)}\n`);
    // metadata.json last: its presence marks a complete entry for readers of older layouts.
    await writeFile(join(entryDir, 'metadata.json'), `${JSON.stringify(metadata, null, 2)}\n`);
    await rm(scratch, { recursive: true, force: true });

    if ((await store.commit(entryDir, id)) === 'exists') {
      log.info('a concurrent intake stored this image first');
      const winner = await store.get(id);
      if (winner) return replanned(winner, store, options);
    }
    log.info({ apps: apps.length, findings: inventory.findings.length }, 'image stored');
    return {
      id,
      dir: store.entryDir(id),
      systemImagePath: join(store.entryDir(id), 'system.img'),
      reused: false,
      metadata,
      inventory,
    };
  } finally {
    await store.discard(partial);
  }
}

export interface DescribeOptions {
  id: string;
  /** Names the image in error messages. */
  label: string;
  sourceKind: ImageKind;
  sourceName: string;
  timeoutMs: number;
  maxExtractBytes: number;
  indicatorRules?: IndicatorRules | string;
  emulator?: EmulatorHost;
}

/**
 * Reads a staged entry directory (system.img in place) into its metadata and inventory: build
 * facts, apps, indicator findings and the as-is run plan. Writes build.prop beside system.img.
 */
export async function describeEntry(
  entryDir: string,
  scratch: string,
  options: DescribeOptions,
): Promise<{ metadata: ImageMetadata; inventory: ImageInventory }> {
  const label = options.label;
  const systemImg = join(entryDir, 'system.img');
  const { size: systemImageBytes } = await stat(systemImg);
  if (systemImageBytes === 0) {
    throw new InputError('image-empty', `${label}: its system.img is empty (0 bytes)`, {
      hint: 'the image was packed from an unfinished build or copy; fetch it again',
    });
  }
  const partition = await openPartition(systemImg, systemImageBytes, `${label}: system.img`, {
    timeoutMs: options.timeoutMs,
    scratchDir: scratch,
    maxExtractBytes: options.maxExtractBytes,
  });

  const buildProp = await readBuildProp(partition, label);
  await writeFile(join(entryDir, 'build.prop'), buildProp);
  const facts = buildFacts(parseBuildProp(buildProp.toString('utf8')));
  const labImageName = await readLabImageName(partition);

  const apps = await inventoryApps(partition, scratch, { timeoutMs: options.timeoutMs });
  const rules =
    typeof options.indicatorRules === 'object'
      ? options.indicatorRules
      : await loadIndicatorRules(options.indicatorRules);
  const files = (await readdir(entryDir, { recursive: true }))
    .filter((f) => f !== 'metadata.json' && f !== 'inventory.json')
    .sort();
  const metadata: ImageMetadata = {
    version: 1,
    sha256: options.id,
    sourceKind: options.sourceKind,
    sourceName: options.sourceName,
    storedAt: new Date().toISOString(),
    files,
    systemImageBytes,
    filesystem: partition.filesystem,
    ...facts,
    // The lab phone reads ext4 only: an erofs lab image keeps its name but is not bootable there.
    labImage: labImageName !== undefined && partition.filesystem === 'ext4',
    labImageName,
  };
  const inventory: ImageInventory = {
    version: 1,
    apps,
    findings: evaluateIndicators(rules, apps),
    runPlan: planRun(
      {
        labImage: labImageName !== undefined,
        filesystem: partition.filesystem,
        files,
        abis: facts.abis,
      },
      options.emulator,
    ),
  };
  return { metadata, inventory };
}

/**
 * The as-is plan, or a transplant onto a base image when the image cannot boot as it is and
 * intake was told where bases are.
 */
async function transplantIfNeeded(
  metadata: ImageMetadata,
  inventory: ImageInventory,
  store: ImageStore,
  options: IntakeOptions,
): Promise<RunPlan> {
  const bases = options.bases;
  if (!bases || inventory.runPlan.mode !== 'static-only') return inventory.runPlan;
  return planTransplant(
    {
      apiLevel: metadata.apiLevel,
      abis: metadata.abis,
      manufacturer: metadata.manufacturer,
      labBehaviour: metadata.labImageName !== undefined,
      apps: inventory.apps,
    },
    inventory.runPlan,
    bases,
    options.emulator,
    async (base) => {
      if (base.apps) return base.apps;
      // An SDK base is inventoried once; the store keeps it for the transplant and later plans.
      const stored = await intakeImage(base.source, store, {
        ...(options.logger ? { logger: options.logger } : {}),
        timeoutMs: options.timeoutMs ?? 120_000,
      });
      return stored.inventory.apps;
    },
  );
}

/**
 * A stored entry with its plan made again: bases and emulators come and go on a host, and a
 * stored plan must not keep saying static-only once a base is there (or transplant once gone).
 */
async function replanned(
  stored: StoredImage,
  store: ImageStore,
  options: IntakeOptions,
): Promise<StoredImage> {
  if (!options.bases || stored.metadata.transplant) return stored;
  const asIs = planRun(
    {
      labImage: stored.metadata.labImageName !== undefined,
      filesystem: stored.metadata.filesystem ?? 'ext4',
      files: stored.metadata.files,
      abis: stored.metadata.abis,
    },
    options.emulator,
  );
  const runPlan = await transplantIfNeeded(
    stored.metadata,
    { ...stored.inventory, runPlan: asIs },
    store,
    options,
  );
  return { ...stored, inventory: { ...stored.inventory, runPlan } };
}

async function readBuildProp(partition: PartitionReader, label: string): Promise<Buffer> {
  for (const candidate of ['/build.prop', '/system/build.prop']) {
    const bytes = await partition.readFile(candidate, MAX_BUILD_PROP_BYTES);
    if (bytes) return bytes;
  }
  throw new InputError(
    'image-no-build-prop',
    `${label}: its system partition has no build.prop (at / or /system)`,
    {
      hint: 'submit the system partition, not vendor, product or userdata',
    },
  );
}

async function readLabImageName(partition: PartitionReader): Promise<string | undefined> {
  for (const candidate of [LAB_IMAGE_PATH_IN_SYSTEM, `/system${LAB_IMAGE_PATH_IN_SYSTEM}`]) {
    const bytes = await partition.readFile(candidate, MAX_LAB_IMAGE_BYTES);
    if (!bytes) continue;
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      throw new InputError(
        'lab-image-invalid',
        `the image's ${LAB_IMAGE_PATH_IN_SYSTEM} is not JSON`,
        { cause: error },
      );
    }
    const parsed = labImageSchema.safeParse(json);
    if (!parsed.success) {
      throw new InputError(
        'lab-image-invalid',
        `the image's ${LAB_IMAGE_PATH_IN_SYSTEM} does not match the lab image format`,
        {
          hint: 'rebuild the lab image from images/lab/',
        },
      );
    }
    return parsed.data.name;
  }
  return undefined;
}
