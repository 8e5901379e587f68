import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { CanarytrapError } from '../../errors.ts';
import {
  LAB_IMAGE_PATH_IN_SYSTEM,
  labImageSchema,
  type LabImage,
} from '../../android/lab-image.ts';
import { parseBuildProp } from './properties.ts';

/**
 * Reads a lab image out of its system partition without mounting it: `debugfs` from e2fsprogs
 * reads files from the raw ext4 file and copies the tree into the phone's temp dir.
 */
export interface LoadedImage {
  image: LabImage;
  buildProp: Record<string, string>;
}

const DEBUGFS_TIMEOUT_MS = 60_000;

function invalid(imageDir: string, what: string, cause?: unknown): CanarytrapError {
  return new CanarytrapError('lab-image-invalid', `lab image in ${imageDir} is unusable: ${what}`, {
    permanent: true,
    cause,
    hint: 'build the image with the lab image builder (an ext4 system.img holding /build.prop and /etc/canarytrap/lab-image.json)',
  });
}

async function debugfs(systemImg: string, request: string, imageDir: string): Promise<string> {
  const result = await execa('debugfs', ['-R', request, systemImg], {
    timeout: DEBUGFS_TIMEOUT_MS,
    reject: false,
    encoding: 'utf8',
    stripFinalNewline: false,
  });
  if (result.timedOut)
    throw invalid(imageDir, `debugfs "${request}" took longer than ${DEBUGFS_TIMEOUT_MS} ms`);
  if (result.failed && result.exitCode === undefined)
    throw invalid(imageDir, `debugfs could not run: ${result.message}`);
  // debugfs exits 0 even when it cannot open the file system; its complaints go to stderr.
  const complaints = result.stderr
    .split('\n')
    .filter((line) => line.trim() !== '' && !/^debugfs \d/.test(line));
  if (complaints.length > 0) {
    const text = complaints.join('; ');
    if (/Bad magic number|short read|Filesystem not open|Attempt to read block/i.test(text)) {
      throw invalid(imageDir, `system.img is not an ext4 file system (${text})`);
    }
    if (/File not found/i.test(text)) throw new FileNotInImage(text);
    throw invalid(imageDir, `debugfs "${request}": ${text}`);
  }
  return result.stdout;
}

class FileNotInImage extends Error {
  override readonly name = 'FileNotInImage';
}

async function catFile(systemImg: string, path: string, imageDir: string): Promise<string> {
  try {
    return await debugfs(systemImg, `cat ${path}`, imageDir);
  } catch (error) {
    if (error instanceof FileNotInImage)
      throw invalid(imageDir, `system.img has no ${path}`, error);
    throw error;
  }
}

/** Validates the image directory and reads build.prop and the lab image file from system.img. */
export async function loadLabImage(imageDir: string): Promise<LoadedImage> {
  const systemImg = join(imageDir, 'system.img');
  try {
    await access(systemImg);
  } catch (error) {
    throw invalid(imageDir, 'no system.img in the image directory', error);
  }
  const buildProp = parseBuildProp(await catFile(systemImg, '/build.prop', imageDir));
  const imageText = await catFile(systemImg, LAB_IMAGE_PATH_IN_SYSTEM, imageDir);
  let json: unknown;
  try {
    json = JSON.parse(imageText);
  } catch (error) {
    throw invalid(
      imageDir,
      `${LAB_IMAGE_PATH_IN_SYSTEM} is not JSON (${(error as Error).message})`,
      error,
    );
  }
  const parsed = labImageSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw invalid(
      imageDir,
      `${LAB_IMAGE_PATH_IN_SYSTEM} does not match the lab image schema (${issues})`,
      parsed.error,
    );
  }
  return { image: parsed.data, buildProp };
}

/** Copies the whole system partition into `targetDir` (the read-only lower layer of /system). */
export async function extractSystem(imageDir: string, targetDir: string): Promise<void> {
  await debugfs(join(imageDir, 'system.img'), `rdump / ${targetDir}`, imageDir);
}
