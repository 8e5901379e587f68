import { readdir } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.ts';
import { InputError } from '../errors.ts';
import { exists } from '../host/fs.ts';
import { buildLabImage } from '../image-build/lab-images/build-lab-image.ts';
import { sniffImage } from '../intake/sniff.ts';
import { openZipChecked } from '../android/zip-safe.ts';
import type { AnalysisJobData, AnalysisOptions } from '../queue/job-data.ts';
import { newRunId } from './run-dir.ts';

/**
 * What `canarytrap submit` and the HTTP API share: turning an image argument into a checked
 * image, and that image into job data. Both refuse a wrong file before anything is queued.
 */
export const LAB_IMAGES_DIR = fileURLToPath(new URL('../../images/lab', import.meta.url));

export interface ResolvedImage {
  path: string;
  label: string;
}

/**
 * A path to an image, or the name of a bundled lab image (`adups-2016`), which is built into a
 * real system image on first use. A quick look refuses a wrong file before anything is queued:
 * an empty argument (which would resolve to the current directory) and an empty directory too.
 */
export async function resolveImageArgument(
  argument: string,
  config: Config,
  label?: string,
  /** Run before a lab image is built (a build takes a while): `submit` checks Redis there. */
  beforeBuild?: () => Promise<void>,
): Promise<ResolvedImage> {
  if (argument.trim() === '') {
    throw new InputError('image-missing', 'no image given (the image argument is empty)', {
      hint: 'give the path of an image file or directory, or a lab image name such as adups-2016',
    });
  }
  const asPath = resolve(argument);
  const labJson = join(LAB_IMAGES_DIR, `${argument}.json`);
  if (!(await exists(asPath)) && /^[a-z0-9][a-z0-9-]*$/.test(argument) && (await exists(labJson))) {
    await beforeBuild?.();
    const built = await buildLabImage(
      labJson,
      labImageCache(config),
      config.labImageSharedCache ? { cacheDir: config.labImageSharedCache } : {},
    );
    return { path: built.zipPath, label: argument };
  }
  const kind = await sniffImage(asPath);
  if (kind === 'directory') await refuseEmptyDirectory(asPath, label ?? basename(asPath));
  if (kind === 'zip') {
    // The central directory is read in full so an entry escaping its directory is refused now.
    const zip = await openZipChecked(asPath, label ?? basename(asPath));
    await zip[Symbol.asyncDispose]();
  }
  return { path: asPath, label: label ?? basename(asPath) };
}

async function refuseEmptyDirectory(path: string, label: string): Promise<void> {
  const entries = await readdir(path).catch((error: unknown) => {
    throw new InputError('image-unreadable', `${label}: the directory cannot be read`, {
      cause: error,
      hint: 'check its permissions',
    });
  });
  if (entries.length > 0) return;
  throw new InputError('image-empty', `${label} is an empty directory`, {
    hint: 'give an unpacked system-image directory holding system.img, or an image file',
  });
}

/** Where bundled lab images are built on first use. */
export function labImageCache(config: Pick<Config, 'dataRoot'>): string {
  return join(config.dataRoot, 'cache', 'lab-images');
}

/**
 * A bundled lab image, built by canarytrap from images/lab/: harmless by construction, so it may
 * run uncaged on a host that cannot make a cage (a submitted image may not).
 */
export function isBundledLabImage(imagePath: string, config: Pick<Config, 'dataRoot'>): boolean {
  const rel = relative(labImageCache(config), resolve(imagePath));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

export async function labImageNames(): Promise<string[]> {
  return (await readdir(LAB_IMAGES_DIR))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

export interface AnalysisRequest {
  baselineRunId?: string;
  options: AnalysisOptions;
}

/** Job data for a checked image: a fresh run id, the image, the run settings. */
export function analysisJobData(image: ResolvedImage, request: AnalysisRequest): AnalysisJobData {
  return {
    runId: newRunId(),
    imagePath: image.path,
    imageLabel: image.label,
    ...(request.baselineRunId ? { baselineRunId: request.baselineRunId } : {}),
    options: request.options,
  };
}
