import { createHash } from 'node:crypto';
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  link,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipeline } from 'node:stream/promises';
import { ZipFile } from 'yazl';
import { z } from 'zod';
import { InputError } from '../../errors.ts';
import { LAB_IMAGE_PATH_IN_SYSTEM, labImageSchema } from '../../android/lab-image.ts';
import { makeExt4 } from '../../android/ext4.ts';
import { exists } from '../../host/fs.ts';
import { withFileLock } from '../../host/file-lock.ts';
import { sha256File } from '../../host/hashing.ts';
import { buildApk } from './build-apk.ts';
import { buildPropText, sourcePropertiesText } from './lab-props.ts';
import { generateSigningKeys } from './signing-keys.ts';
import { runTool } from '../../android/tools.ts';

/**
 * A lab image file as the builder reads it: the lab image itself plus how to pack it. `system`
 * exists for images that must not be bootable as-is (an erofs partition, which the lab phone
 * cannot read), so the transplant onto a base image can be exercised; the lab phone ignores it.
 */
export const labBuildFileSchema = labImageSchema.extend({
  system: z
    .object({
      /** Filesystem of system.img. Default ext4. */
      filesystem: z.enum(['ext4', 'erofs']).default('ext4'),
    })
    .optional(),
});
export type LabBuildFile = z.infer<typeof labBuildFileSchema>;

/** Bump when the builder's output changes, so cached zips of the old builder are not reused. */
export const LAB_BUILDER_VERSION = 3;

/**
 * The base CA store every lab image carries in /system/etc/security/cacerts: the project's own
 * self-signed lab roots, stored as Android stores CAs (`<subject_hash_old>.0`, PEM then text),
 * so the CA install of the prepare stage finds a real store to copy, as on a phone.
 */
export const LAB_CACERTS_DIR = fileURLToPath(
  new URL('../../../images/lab/cacerts', import.meta.url),
);
const CACERTS_IN_SYSTEM = 'etc/security/cacerts';

export interface BuildLabImageOptions {
  /** Where built zips are kept and reused (`<cacheDir>/lab-images/`). Unset: always build. */
  cacheDir?: string;
  /** Per tool invocation. Default 60 s. */
  timeoutMs?: number;
  /** Default Debian's /usr/share/android-framework-res/framework-res.apk. */
  frameworkResPath?: string;
}

export interface BuiltLabImage {
  zipPath: string;
  /** sha256 of the zip: the id intake will store it under. */
  sha256: string;
  name: string;
  /** True when the zip came from the cache. */
  cached: boolean;
}

/**
 * Builds `images/lab/<name>.json` into an SDK-style system-image zip (`<abi>/system.img`,
 * `<abi>/build.prop`, `<abi>/source.properties`); system.img is ext4 holding build.prop, one
 * real signed APK per app and the behaviour file the lab phone reads. No kernel or ramdisk: the
 * lab phone does not boot one.
 */
export async function buildLabImage(
  labImageJsonPath: string,
  outDir: string,
  options: BuildLabImageOptions = {},
): Promise<BuiltLabImage> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const jsonBytes = await readLabImageFile(labImageJsonPath);
  const image = parseLabImage(jsonBytes, labImageJsonPath);
  const cacerts = await readBaseCaStore();
  const hash = createHash('sha256').update(`builder-v${LAB_BUILDER_VERSION}\n`).update(jsonBytes);
  // The CA files are part of the output, so a changed store must not reuse a cached zip.
  for (const cert of cacerts) hash.update(`\n${cert.name}\n`).update(cert.bytes);
  const key = hash.digest('hex');
  const fileName = `${image.name}-${key.slice(0, 16)}.zip`;
  const zipPath = join(outDir, fileName);
  await mkdir(outDir, { recursive: true });

  const cachePath =
    options.cacheDir === undefined ? undefined : join(options.cacheDir, 'lab-images', fileName);
  const reused = await reuseBuilt(zipPath, cachePath, image.name);
  if (reused) return reused;
  if (cachePath === undefined) return build();
  // Builders sharing a cache (the files of one test run, the workers of one host) build each
  // image once: the others wait for the first and copy its zip.
  await mkdir(dirname(cachePath), { recursive: true });
  return withFileLock(
    `${cachePath}.lock`,
    async () => (await reuseBuilt(zipPath, cachePath, image.name)) ?? build(),
    { what: `the build of lab image ${image.name}`, timeoutMs: 10 * timeoutMs },
  );

  async function build(): Promise<BuiltLabImage> {
    const work = await mkdtemp(join(outDir, `.build-${image.name}-`));
    try {
      const built = join(work, fileName);
      await buildInto(
        image,
        jsonBytes,
        cacerts,
        key,
        work,
        built,
        timeoutMs,
        options.frameworkResPath,
      );
      await publish(built, zipPath);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    if (cachePath !== undefined && cachePath !== zipPath) await copyAtomically(zipPath, cachePath);
    return { zipPath, sha256: await sha256File(zipPath), name: image.name, cached: false };
  }
}

/** The zip already in `outDir`, else a copy of the cached one; undefined when neither exists. */
async function reuseBuilt(
  zipPath: string,
  cachePath: string | undefined,
  name: string,
): Promise<BuiltLabImage | undefined> {
  for (const candidate of [zipPath, cachePath]) {
    if (candidate !== undefined && (await exists(candidate))) {
      if (candidate !== zipPath) await copyAtomically(candidate, zipPath);
      return { zipPath, sha256: await sha256File(zipPath), name, cached: true };
    }
  }
  return undefined;
}

async function buildInto(
  image: LabBuildFile,
  jsonBytes: Buffer,
  cacerts: CaFile[],
  key: string,
  work: string,
  zipPath: string,
  timeoutMs: number,
  frameworkResPath: string | undefined,
): Promise<void> {
  const staging = join(work, 'system');
  await mkdir(join(staging, dirname(LAB_IMAGE_PATH_IN_SYSTEM).slice(1)), { recursive: true });
  const buildProp = buildPropText(image);
  await writeFile(join(staging, 'build.prop'), buildProp);
  await writeFile(join(staging, LAB_IMAGE_PATH_IN_SYSTEM.slice(1)), jsonBytes);
  await mkdir(join(staging, CACERTS_IN_SYSTEM), { recursive: true });
  for (const cert of cacerts) {
    const target = join(staging, CACERTS_IN_SYSTEM, cert.name);
    await writeFile(target, cert.bytes);
    await chmod(target, 0o644);
  }

  const keysDir = join(work, 'keys');
  await mkdir(keysDir);
  const keys = await generateSigningKeys(keysDir);
  // Apps are built one after another: each step is a JVM or a short native tool, and two
  // cores are better spent on the other builds a test suite runs in parallel.
  for (const [index, app] of image.apps.entries()) {
    const appWork = join(work, `app-${index}`);
    await mkdir(appWork);
    const apk = await buildApk({
      app,
      sdk: image.build.sdk,
      workDir: appWork,
      key: app.sharedUserId === 'android.uid.system' ? keys.platform : keys.vendor,
      timeoutMs,
      ...(frameworkResPath === undefined ? {} : { frameworkResPath }),
    });
    const target = join(staging, app.path.slice('/system/'.length));
    await mkdir(dirname(target), { recursive: true });
    await copyFile(apk, target);
  }

  const systemImg = join(work, 'system.img');
  if (image.system?.filesystem === 'erofs') {
    await runTool(
      'mkfs.erofs',
      ['--quiet', '--all-root', '-T', '1230768000', '-U', uuidFrom(key), systemImg, staging],
      { timeoutMs },
    );
  } else {
    const contentBytes = await treeBytes(staging);
    await makeExt4(staging, systemImg, {
      label: 'system',
      // Room for metadata and the journal; ext4 needs a few MiB whatever the content.
      sizeBytes: Math.max(8 * 1024 * 1024, contentBytes * 2 + 4 * 1024 * 1024),
      uuid: uuidFrom(key),
      timeoutMs,
    });
  }

  const zip = new ZipFile();
  const mtime = new Date('2009-01-01T00:00:00Z');
  const abi = image.build.abi;
  zip.addFile(systemImg, `${abi}/system.img`, { mtime, mode: 0o100644 });
  zip.addBuffer(Buffer.from(buildProp), `${abi}/build.prop`, { mtime, mode: 0o100644 });
  zip.addBuffer(Buffer.from(sourcePropertiesText(image)), `${abi}/source.properties`, {
    mtime,
    mode: 0o100644,
  });
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(zipPath));
}

interface CaFile {
  name: string;
  bytes: Buffer;
}

/** The `<hash>.0` files of the base CA store, in name order so every build writes the same tree. */
async function readBaseCaStore(): Promise<CaFile[]> {
  let names: string[];
  try {
    names = (await readdir(LAB_CACERTS_DIR)).filter((n) => /^[0-9a-f]{8}\.\d+$/.test(n)).sort();
  } catch (error) {
    throw new InputError(
      'lab-cacerts-missing',
      `the lab CA store ${LAB_CACERTS_DIR} cannot be read`,
      {
        cause: error,
        hint: 'restore images/lab/cacerts/ from the repository',
      },
    );
  }
  return Promise.all(
    names.map(async (name) => ({ name, bytes: await readFile(join(LAB_CACERTS_DIR, name)) })),
  );
}

async function readLabImageFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new InputError('lab-image-not-found', `lab image file ${path} cannot be read`, {
      cause: error,
      hint: 'name a file under images/lab/',
    });
  }
}

function parseLabImage(bytes: Buffer, path: string): LabBuildFile {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new InputError('lab-image-invalid', `lab image ${path} is not JSON`, { cause: error });
  }
  const parsed = labBuildFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(
      'lab-image-invalid',
      `lab image ${path}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`,
      { hint: 'fix the file against src/android/lab-image.ts (its schema)' },
    );
  }
  return parsed.data;
}

async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

function uuidFrom(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Copy then publish, so a reader never sees half a zip. */
async function copyAtomically(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  const temp = `${to}.${process.pid}.${Date.now()}.partial`;
  await copyFile(from, temp);
  await publish(temp, to);
}

/**
 * Moves a finished file into place unless one is there already. Two builds of one lab image
 * differ in their signing keys, so the first published zip wins and keeps its sha256 true for
 * whoever returned it.
 */
async function publish(temp: string, to: string): Promise<void> {
  try {
    await link(temp, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await rm(temp, { force: true });
  }
}
