import { createHash } from 'node:crypto';
import {
  chmod,
  copyFile,
  link,
  mkdir,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { CanarytrapError } from '../../errors.ts';
import { silentLogger, type Logger } from '../../log.ts';
import { LAB_IMAGE_PATH_IN_SYSTEM } from '../../lab/image-schema.ts';
import { assertRoom } from '../disk-room.ts';
import { makeExt4, rdumpExt4 } from '../ext4.ts';
import type { IndicatorRules } from '../indicators.ts';
import { describeEntry, intakeImage } from '../intake.ts';
import { buildLabImage } from '../lab-build/build-lab-image.ts';
import { generateKey, type SigningKey } from '../lab-build/signing-keys.ts';
import { openPartition, type PartitionReader } from '../partition/reader.ts';
import type { EmulatorHost } from '../run-plan.ts';
import type { ImageStore } from '../store.ts';
import type { StoredImage } from '../types.ts';
import { allowListXml } from './allow-list.ts';
import { mergeLabImages } from './lab-merge.ts';
import { dropSharedUserId } from './resign.ts';
import type {
  BaseCandidate,
  BaseCatalogue,
  TransplantMove,
  TransplantOutcome,
  TransplantPlan,
} from './types.ts';

/** Bump when the built image changes for the same vendor image and base. */
export const TRANSPLANT_BUILDER_VERSION = 2;

export interface CarryOutOptions {
  /** The catalogue the plan was made from; the base is found in it again by name. */
  catalogue: BaseCatalogue;
  /** Where lab bases are built and cached (`<dataRoot>/cache/lab-images`). */
  labBuildDir: string;
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
 * Builds the transplant the vendor image's run plan describes: the base's system tree plus the
 * vendor apps (APK and native libraries) at their planned paths and the privileged-permission
 * allow-list, as a new ext4 system.img; on a lab base the vendor apps' behaviours join the
 * base's lab-image.json. The result is stored under an id derived from the vendor image, the
 * base and the plan, so the same transplant is built once.
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
  const base = await storeBase(candidate, store, options.labBuildDir, logger, timeoutMs);
  const id = transplantId(vendor.id, base.id, plan);
  const existing = await store.get(id);
  if (existing) {
    logger.info({ image: id.slice(0, 12) }, 'transplant already built');
    return { image: existing, outcome: outcomeOf(existing, plan, true) };
  }

  const partial = await store.createPartial(id);
  try {
    const tree = join(partial, 'tree');
    const entryDir = join(partial, 'entry');
    const scratch = join(partial, 'scratch');
    await Promise.all([mkdir(tree), mkdir(entryDir), mkdir(scratch)]);
    if ((base.metadata.filesystem ?? 'ext4') !== 'ext4') {
      throw new CanarytrapError(
        'transplant-base-unsupported',
        `the base image ${plan.base.name} is ${base.metadata.filesystem ?? '?'}; a transplant is built from an ext4 base`,
        { permanent: true, hint: 'use an emulator system image whose system.img is ext4' },
      );
    }
    // The base's tree, the vendor's extracted partition and the new image live here at once.
    await assertRoom(
      partial,
      2 * base.metadata.systemImageBytes + 2 * vendor.metadata.systemImageBytes,
    );
    await rdumpExt4(base.systemImagePath, tree, buildTimeoutMs);
    // mke2fs makes its own lost+found; one in the tree would collide with it.
    await rm(join(tree, 'lost+found'), { recursive: true, force: true });
    const prefix = (await hasSystemAsRoot(tree)) ? 'system/' : '';

    const vendorPartition = await openPartition(
      vendor.systemImagePath,
      vendor.metadata.systemImageBytes,
      `${vendor.metadata.sourceName}: system.img`,
      {
        timeoutMs,
        scratchDir: await mkdirIn(scratch, 'vendor'),
        maxExtractBytes: options.maxExtractBytes ?? 16 * 1024 ** 3,
      },
    );
    const vendorPrefix = await partitionSystemPrefix(vendorPartition);
    const libProblems: string[] = [];
    let key: SigningKey | undefined;
    for (const [index, move] of plan.moves.entries()) {
      const abis = await copyApp(vendorPartition, vendorPrefix, move, tree, prefix);
      if (move.resign) {
        key ??= await generateKey(
          await mkdirIn(scratch, 'key'),
          'transplant',
          'CN=canarytrap transplant, O=canarytrap',
          timeoutMs,
        );
        await dropSharedUserId(
          join(tree, prefix, move.to.slice('/system/'.length)),
          move.package,
          key,
          join(scratch, `resign-${index}`),
          timeoutMs,
        );
      }
      const foreign = abis.filter((abi) => !runsOn(abi, plan.base.abi));
      if (plan.base.kind === 'sdk' && foreign.length > 0) {
        libProblems.push(
          `${move.package}: its native libraries are for ${foreign.join(', ')}, which do not load on the ${plan.base.abi} base`,
        );
      }
    }
    if (plan.allowList.entries.length > 0) {
      const xml = join(tree, prefix, plan.allowList.path.slice('/system/'.length));
      await mkdir(dirname(xml), { recursive: true });
      await writeFile(xml, allowListXml(plan.allowList.entries));
    }
    if (plan.base.kind === 'lab')
      await mergeBehaviours(tree, prefix, vendorPartition, vendorPrefix, plan);

    const content = await treeBytes(tree);
    await makeExt4(tree, join(entryDir, 'system.img'), {
      label: 'system',
      // The base's own size when it is bigger (real SDK images leave free space for a reason),
      // plus room for ext4's metadata and journal.
      sizeBytes:
        Math.max(base.metadata.systemImageBytes, Math.ceil(content * 1.25)) + 16 * 1024 ** 2,
      uuid: uuidFrom(id),
      timeoutMs: buildTimeoutMs,
    });
    await rm(tree, { recursive: true, force: true });
    // An SDK base brings its kernel, ramdisk, vendor.img and source.properties: shared, not copied.
    for (const file of base.metadata.files) {
      if (file === 'system.img' || file === 'build.prop' || file.includes('/')) continue;
      await linkOrCopy(join(base.dir, file), join(entryDir, file));
    }

    const described = await describeEntry(entryDir, await mkdirIn(scratch, 'describe'), {
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
    await rm(scratch, { recursive: true, force: true });
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
  labBuildDir: string,
  logger: Logger,
  timeoutMs: number,
): Promise<StoredImage> {
  const source =
    candidate.kind === 'lab'
      ? (await buildLabImage(candidate.source, labBuildDir)).zipPath
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

/** Copies one app's directory (APK and native libraries, not the vendor's compiled oat/). */
async function copyApp(
  partition: PartitionReader,
  vendorPrefix: string,
  move: TransplantMove,
  tree: string,
  prefix: string,
): Promise<string[]> {
  const fsApk = `${vendorPrefix}${move.from.slice('/system'.length)}`;
  const fsDir = posix.dirname(fsApk);
  const flat = /\/(priv-)?app$/.test(fsDir);
  const targetDir = join(tree, prefix, posix.dirname(move.to).slice('/system/'.length));
  await mkdir(targetDir, { recursive: true, mode: 0o755 });
  const files: Array<{ from: string; to: string }> = [
    { from: fsApk, to: join(targetDir, posix.basename(move.to)) },
  ];
  const abis: string[] = [];
  if (!flat) {
    for (const abi of (await partition.listDir(`${fsDir}/lib`)) ?? []) {
      if (abi.kind !== 'dir') continue;
      abis.push(abi.name);
      await mkdir(join(targetDir, 'lib', abi.name), { recursive: true, mode: 0o755 });
      for (const lib of (await partition.listDir(`${fsDir}/lib/${abi.name}`)) ?? []) {
        if (lib.kind === 'file') {
          files.push({
            from: `${fsDir}/lib/${abi.name}/${lib.name}`,
            to: join(targetDir, 'lib', abi.name, lib.name),
          });
        }
      }
    }
  }
  await partition.extractFiles(files);
  for (const file of files) {
    try {
      await chmod(file.to, 0o644);
    } catch (error) {
      throw new CanarytrapError(
        'transplant-copy-failed',
        `${file.from} of ${move.package} could not be copied out of the vendor image`,
        {
          cause: error,
          permanent: true,
          hint: 'the vendor image is damaged; submit an intact copy',
        },
      );
    }
  }
  return abis;
}

async function mergeBehaviours(
  tree: string,
  prefix: string,
  vendorPartition: PartitionReader,
  vendorPrefix: string,
  plan: TransplantPlan,
): Promise<void> {
  const basePath = join(tree, prefix, LAB_IMAGE_PATH_IN_SYSTEM.slice(1));
  const vendorBytes = await vendorPartition.readFile(
    `${vendorPrefix}${LAB_IMAGE_PATH_IN_SYSTEM}`,
    4 * 1024 * 1024,
  );
  if (!vendorBytes) {
    throw new CanarytrapError(
      'transplant-no-behaviour',
      `the vendor image has no ${LAB_IMAGE_PATH_IN_SYSTEM}, which a transplant onto the lab base ${plan.base.name} needs`,
      { permanent: true },
    );
  }
  const merged = mergeLabImages(
    JSON.parse(await readFile(basePath, 'utf8')),
    JSON.parse(vendorBytes.toString('utf8')),
    plan,
  );
  await writeFile(basePath, `${JSON.stringify(merged, null, 2)}\n`);
}

/** `/system` when the partition is system-as-root (apps under /system/), else the empty string. */
async function partitionSystemPrefix(partition: PartitionReader): Promise<string> {
  const root = (await partition.listDir('/')) ?? [];
  const has = (name: string) => root.some((e) => e.name === name && e.kind === 'dir');
  return has('system') && !has('app') && !has('priv-app') ? '/system' : '';
}

async function hasSystemAsRoot(tree: string): Promise<boolean> {
  const names = await readdir(tree);
  return names.includes('system') && !names.includes('app') && !names.includes('priv-app');
}

/** Whether a native library directory (`arm64`, `x86`...) loads on a base of `abi`. */
function runsOn(libDir: string, abi: string): boolean {
  const family: Record<string, readonly string[]> = {
    x86_64: ['x86_64', 'x86'],
    x86: ['x86'],
    'arm64-v8a': ['arm64', 'arm'],
    'armeabi-v7a': ['arm'],
  };
  return (family[abi] ?? []).includes(libDir);
}

async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to, constants.COPYFILE_FICLONE);
  }
}

async function mkdirIn(parent: string, name: string): Promise<string> {
  const dir = join(parent, name);
  await mkdir(dir);
  return dir;
}

function uuidFrom(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
