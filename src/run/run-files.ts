import { constants } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { runDirFor } from './run-dir.ts';
import { ensureRunLocal } from './run-store.ts';

export interface RunFile {
  handle: FileHandle;
  size: number;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A file of a run directory, opened only when it is a regular file that lies inside that run
 * directory: no symlink is followed out of it, neither in the folders on the way (their real
 * path must stay inside) nor as the file itself (O_NOFOLLOW). A run directory holds what a
 * device and its firmware produced, so what is served from it is never anything else on the
 * host. Undefined when there is no such file.
 */
export async function openRunFile(
  dataRoot: string,
  runId: string,
  relativePath: string,
): Promise<RunFile | undefined> {
  const runDir = runDirFor(dataRoot, runId);
  const path = join(runDir, relativePath);
  if (!inside(path, runDir)) return undefined;
  // With a shared store, a run finished on another host is read through a local copy.
  await ensureRunLocal(dataRoot, runId);
  const [realRun, realParent] = await Promise.all([
    realpath(runDir).catch(() => undefined),
    realpath(dirname(path)).catch(() => undefined),
  ]);
  if (!realRun || !realParent || !(realParent === realRun || inside(realParent, realRun)))
    return undefined;
  // realpath(runDir) itself may only lead to where the data root keeps its runs.
  const realRuns = await realpath(dirname(runDir)).catch(() => undefined);
  if (!realRuns || dirname(realRun) !== realRuns) return undefined;
  let handle: FileHandle;
  try {
    // O_NONBLOCK: a FIFO planted in the directory must not hang the open.
    handle = await open(
      join(realParent, basename(path)),
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
  } catch {
    return undefined;
  }
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    return undefined;
  }
  return { handle, size: info.size, [Symbol.asyncDispose]: () => handle.close() };
}

function inside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** A run file's text (openRunFile's confinement), or undefined when there is none. */
export async function readRunFileText(
  dataRoot: string,
  runId: string,
  relativePath: string,
): Promise<string | undefined> {
  const file = await openRunFile(dataRoot, runId, relativePath);
  if (!file) return undefined;
  await using opened = file;
  return opened.handle.readFile('utf8');
}
