import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { readSystemImage } from '../../android/sdk-image.ts';
import { labBuildFileSchema } from '../../image-build/lab-images/build-lab-image.ts';
import type { BaseCandidate, BaseCatalogue } from '../../image-build/transplant/types.ts';

/** Where base images are looked for. */
export interface BaseSearch {
  /** The bundled lab images; its `base-*.json` files are lab bases. Unset: none. */
  labImagesDir?: string;
  /**
   * Directories of base images (`CANARYTRAP_BASE_IMAGES`): every lab image JSON at their top and
   * every emulator system-image directory up to four levels down.
   */
  baseImageDirs: readonly string[];
  /** The Android SDK: its `system-images/android-<api>/<tag>/<abi>/` are bases. */
  androidHome: string | undefined;
}

/** Deep enough for `system-images/android-28/google_apis/x86_64`, shallow enough to stay fast. */
const MAX_DEPTH = 4;
const MAX_LAB_JSON_BYTES = 4 * 1024 * 1024;

/** Lists the base images on this host. Unreadable candidates are left out, never fatal. */
export async function findBaseImages(search: BaseSearch): Promise<BaseCatalogue> {
  const candidates: BaseCandidate[] = [];
  const searched: string[] = [];
  if (search.labImagesDir !== undefined) {
    searched.push('the bundled lab bases (images/lab/base-*.json)');
    candidates.push(...(await labBases(search.labImagesDir, (name) => name.startsWith('base-'))));
  }
  for (const dir of search.baseImageDirs) {
    candidates.push(...(await labBases(dir, () => true)));
    candidates.push(...(await emulatorBases(dir, dir, (rel) => rel || dir)));
  }
  if (search.baseImageDirs.length > 0) searched.push('the directories in CANARYTRAP_BASE_IMAGES');
  if (search.androidHome !== undefined) {
    const root = join(search.androidHome, 'system-images');
    searched.push('the SDK system images under ANDROID_HOME');
    candidates.push(
      ...(await emulatorBases(root, root, (rel) => ['system-images', ...rel.split(sep)].join(';'))),
    );
  }
  // One name, one base: the first place searched wins.
  const seen = new Set<string>();
  const unique = candidates.filter((c) => !seen.has(c.name) && seen.add(c.name));
  return { candidates: unique, searched };
}

async function labBases(dir: string, wanted: (name: string) => boolean): Promise<BaseCandidate[]> {
  const found: BaseCandidate[] = [];
  for (const file of (await listDir(dir)).sort()) {
    if (!file.endsWith('.json') || !wanted(file)) continue;
    const text = await readFile(join(dir, file), 'utf8').catch(() => undefined);
    if (text === undefined || text.length > MAX_LAB_JSON_BYTES) continue;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      continue;
    }
    const parsed = labBuildFileSchema.safeParse(json);
    // An erofs lab image is one the lab phone cannot boot: no use as a base.
    if (!parsed.success || parsed.data.system?.filesystem === 'erofs') continue;
    const image = parsed.data;
    found.push({
      kind: 'lab',
      name: image.name,
      apiLevel: image.build.sdk,
      abi: image.build.abi,
      source: join(dir, file),
      apps: image.apps.map((a) => ({ package: a.package, path: a.path })),
    });
  }
  return found;
}

async function emulatorBases(
  root: string,
  dir: string,
  nameOf: (relativePath: string) => string,
  depth = 0,
): Promise<BaseCandidate[]> {
  const names = await listDir(dir);
  if (names.includes('system.img') && names.includes('source.properties')) {
    const read = await readSystemImage(dir);
    if (!read.ok) return [];
    return [
      {
        kind: 'sdk',
        name: nameOf(relative(root, dir)),
        apiLevel: read.info.apiLevel,
        abi: read.info.abi,
        source: dir,
      },
    ];
  }
  if (depth >= MAX_DEPTH) return [];
  const found: BaseCandidate[] = [];
  for (const entry of await listDirents(dir)) {
    // Links are not followed: a base is what the directory holds, not what it points at.
    if (entry.isDirectory())
      found.push(...(await emulatorBases(root, join(dir, entry.name), nameOf, depth + 1)));
  }
  return found;
}

async function listDir(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

async function listDirents(dir: string) {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.sort((a, b) => a.name.localeCompare(b.name));
}
