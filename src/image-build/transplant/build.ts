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
import { makeExt4, rdumpExt4 } from '../../android/ext4.ts';
import { LAB_IMAGE_PATH_IN_SYSTEM } from '../../android/lab-image.ts';
import { openPartition } from '../../android/partition/reader.ts';
import type { PartitionFilesystem, PartitionReader } from '../../android/partition/types.ts';
import { assertRoom } from '../../host/disk-room.ts';
import { generateKey, type SigningKey } from '../lab-images/signing-keys.ts';
import { allowListXml } from './allow-list.ts';
import { mergeLabImages } from './lab-merge.ts';
import { dropSharedUserId } from './resign.ts';
import type { TransplantMove, TransplantPlan } from './types.ts';

/** Bump when the built image changes for the same vendor image and base. */
export const TRANSPLANT_BUILDER_VERSION = 2;

/** A stored system image as the builder reads it (intake's StoredImage has these fields). */
export interface TransplantSource {
  dir: string;
  /** The raw system partition. */
  systemImagePath: string;
  metadata: {
    /** The submitted file's name, for messages. */
    sourceName: string;
    systemImageBytes: number;
    /** Missing: ext4. */
    filesystem?: PartitionFilesystem;
    /** Files beside system.img (kernel, ramdisk, vendor.img...). */
    files: readonly string[];
  };
}

export interface TransplantBuild {
  plan: TransplantPlan;
  base: TransplantSource;
  vendor: TransplantSource;
  /** Receives system.img and the base's other files (linked, not copied). */
  entryDir: string;
  /** Private, empty work space on the same disk; the caller removes it. */
  workDir: string;
  /** The built image's content id: its filesystem UUID derives from it. */
  id: string;
  /** Per outside tool run. */
  timeoutMs: number;
  /** For copying the base's tree out and making the new ext4. */
  buildTimeoutMs: number;
  /** Largest total an erofs vendor image may extract to. */
  maxExtractBytes: number;
}

/**
 * Makes the transplant the plan describes: the base's system tree plus the vendor apps (APK and
 * native libraries) at their planned paths and the privileged-permission allow-list, as a new
 * ext4 system.img; on a lab base the vendor apps' behaviours join the base's lab-image.json.
 * Resolves with what the built image cannot do as on the vendor's firmware, one sentence each.
 */
export async function buildTransplant(build: TransplantBuild): Promise<string[]> {
  const { plan, base, vendor, entryDir, workDir, id, timeoutMs, buildTimeoutMs, maxExtractBytes } =
    build;
  const tree = join(workDir, 'tree');
  const scratch = join(workDir, 'scratch');
  await Promise.all([mkdir(tree), mkdir(entryDir, { recursive: true }), mkdir(scratch)]);
  if ((base.metadata.filesystem ?? 'ext4') !== 'ext4') {
    throw new CanarytrapError(
      'transplant-base-unsupported',
      `the base image ${plan.base.name} is ${base.metadata.filesystem ?? '?'}; a transplant is built from an ext4 base`,
      { permanent: true, hint: 'use an emulator system image whose system.img is ext4' },
    );
  }
  // The base's tree, the vendor's extracted partition and the new image live here at once.
  await assertRoom(
    workDir,
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
      maxExtractBytes,
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
    sizeBytes: Math.max(base.metadata.systemImageBytes, Math.ceil(content * 1.25)) + 16 * 1024 ** 2,
    uuid: uuidFrom(id),
    timeoutMs: buildTimeoutMs,
  });
  await rm(tree, { recursive: true, force: true });
  // An SDK base brings its kernel, ramdisk, vendor.img and source.properties: shared, not copied.
  for (const file of base.metadata.files) {
    if (file === 'system.img' || file === 'build.prop' || file.includes('/')) continue;
    await linkOrCopy(join(base.dir, file), join(entryDir, file));
  }
  return libProblems;
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
