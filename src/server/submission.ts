import { realpath, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { isAbsolute, relative, resolve } from 'node:path';
import type { Config } from '../config.ts';
import type { AnalysisJobData, AnalysisOptions } from '../queue/job-data.ts';
import {
  analysisJobData,
  labImageNames,
  resolveImageArgument,
  type ResolvedImage,
} from '../run/image-argument.ts';
import { CanarytrapError } from '../errors.ts';
import { decideConsents, planForRun } from '../ui/plan.ts';
import { numberFromText, parseAnalysisOptions } from '../queue/job-options.ts';
import { ApiError, isObject, readJsonBody } from './http-kit.ts';
import { uploadsDir } from '../run/uploads.ts';
import { saveMultipartUpload, saveRawUpload, type SavedUpload } from './upload.ts';

/** What a client may ask for: one of a bundled lab image, a server-side path, or an upload. */
export type ImageSource = { lab: string } | { path: string } | { upload: SavedUpload };

export interface Submission {
  source: ImageSource;
  baselineRunId?: string;
  options: AnalysisOptions;
}

/** Reads `POST /api/runs` in any of its three body types. Nothing is queued here. */
export async function readSubmission(
  req: IncomingMessage,
  url: URL,
  config: Config,
): Promise<Submission> {
  const type = req.headers['content-type'] ?? '';
  const limits = { uploadsDir: uploadsDir(config), maxBytes: config.uploadLimitBytes };
  if (type.startsWith('application/octet-stream')) {
    const upload = await saveRawUpload(req, limits, url.searchParams.get('name'));
    return { source: { upload }, options: {} };
  }
  if (type.startsWith('multipart/form-data')) {
    const form = await saveMultipartUpload(req, limits);
    const lab = form.fields.get('lab');
    const baseline = form.fields.get('baselineRunId');
    let options: AnalysisOptions;
    try {
      options = formOptions(form.fields);
    } catch (error) {
      if (form.file) await rm(form.file.path, { force: true });
      throw error;
    }
    const extra = baseline ? { baselineRunId: baseline } : {};
    if (form.file) return { source: { upload: form.file }, options, ...extra };
    if (lab) return { source: { lab }, options, ...extra };
    throw new ApiError(400, 'image-missing', 'choose a lab image or a file to upload');
  }
  const body = await readJsonBody(req);
  return parseJsonSubmission(body);
}

/**
 * A plan and consent names are checked before anything is queued, as the CLI does: a consent
 * the plan does not declare would otherwise run with its default and the comparison mean nothing.
 */
async function checkExerciseOptions(options: AnalysisOptions, imageLabel: string): Promise<void> {
  if (options.plan === undefined && options.consents === undefined) return;
  try {
    decideConsents(await planForRun(options.plan, imageLabel), options.consents);
  } catch (error) {
    if (error instanceof CanarytrapError) {
      throw new ApiError(
        400,
        error.code,
        error.hint ? `${error.message} (${error.hint})` : error.message,
      );
    }
    throw error;
  }
}

export function parseJsonSubmission(body: unknown): Submission {
  if (!isObject(body)) throw new ApiError(400, 'body-invalid', 'the body must be a JSON object');
  const { lab, path, baselineRunId, options } = body;
  if ((lab === undefined) === (path === undefined)) {
    throw new ApiError(
      400,
      'image-missing',
      'give exactly one of "lab" (a lab image name) or "path" (a path on the server)',
    );
  }
  if (baselineRunId !== undefined && typeof baselineRunId !== 'string') {
    throw new ApiError(400, 'body-invalid', '"baselineRunId" must be a string');
  }
  const source: ImageSource =
    typeof lab === 'string' ? { lab } : typeof path === 'string' ? { path } : invalidImageField();
  return {
    source,
    options: parseAnalysisOptions(options),
    ...(baselineRunId ? { baselineRunId } : {}),
  };
}

function invalidImageField(): never {
  throw new ApiError(400, 'body-invalid', '"lab" and "path" must be strings');
}

/** The form's run settings: numbers as text, an empty field meaning the default. */
function formOptions(fields: ReadonlyMap<string, string>): AnalysisOptions {
  const raw: Record<string, number> = {};
  for (const key of ['perProvider', 'advanceHours', 'stepHours'] as const) {
    const text = fields.get(key)?.trim();
    if (text) raw[key] = numberFromText(text);
  }
  return parseAnalysisOptions(raw);
}

function inside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * The path must lie inside one of the allowed roots, first as written (so a probe learns nothing
 * about files elsewhere) and again with symlinks resolved (so a link cannot lead out).
 */
export async function assertInsideAllowedRoots(
  path: string,
  roots: readonly string[],
): Promise<string> {
  if (!isAbsolute(path))
    throw new ApiError(400, 'path-not-absolute', 'the image path must be absolute');
  const notAllowed = new ApiError(
    403,
    'path-not-allowed',
    'the path is outside the directories this server may read (CANARYTRAP_ALLOWED_ROOTS)',
  );
  const asWritten = resolve(path);
  if (!roots.some((root) => inside(asWritten, resolve(root)))) throw notAllowed;
  const real = await realpath(asWritten).catch(() => {
    throw new ApiError(400, 'image-not-found', 'no such file or directory on the server');
  });
  for (const root of roots) {
    const realRoot = await realpath(root).catch(() => undefined);
    if (realRoot && inside(real, realRoot)) return real;
  }
  throw notAllowed;
}

/** Runs the same checks as `canarytrap submit` on the image, so nothing wrong is queued. */
export async function checkImage(source: ImageSource, config: Config): Promise<ResolvedImage> {
  if ('lab' in source) {
    const names = await labImageNames();
    if (!names.includes(source.lab)) {
      throw new ApiError(
        400,
        'lab-image-unknown',
        `"${source.lab}" is not a lab image; one of ${names.join(', ')}`,
      );
    }
    return resolveImageArgument(source.lab, config);
  }
  if ('path' in source) {
    const real = await assertInsideAllowedRoots(source.path, config.allowedRoots);
    return resolveImageArgument(real, config);
  }
  try {
    return await resolveImageArgument(source.upload.path, config, source.upload.name);
  } catch (error) {
    await rm(source.upload.path, { force: true });
    throw error;
  }
}

export async function jobForSubmission(
  submission: Submission,
  config: Config,
): Promise<AnalysisJobData> {
  const image = await checkImage(submission.source, config);
  // Only JSON bodies carry a plan or consents, so no upload is left behind when this refuses.
  await checkExerciseOptions(submission.options, image.label);
  return analysisJobData(image, {
    ...(submission.baselineRunId ? { baselineRunId: submission.baselineRunId } : {}),
    options: submission.options,
  });
}
