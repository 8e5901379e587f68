import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseIdentity, type ProcessIdentity } from './owner.ts';

/**
 * What the data root remembers of a cage: which process owns it. A worker start reads these to
 * remove cages whose owner died (docs/cage.md, Teardown); everything else about a cage follows
 * from its index.
 */
export interface CageRecord {
  index: number;
  owner: ProcessIdentity;
  createdAt: string;
}

const RECORD_NAME = /^(\d+)\.json$/;

export function recordPath(stateDir: string, index: number): string {
  return join(stateDir, `${index}.json`);
}

export async function writeRecord(stateDir: string, record: CageRecord): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  const path = recordPath(stateDir, record.index);
  // Renamed into place, so a reader never sees half a record.
  const partial = `${path}.${process.pid}.partial`;
  await writeFile(partial, JSON.stringify(record));
  await rename(partial, path);
}

/** Every record under `stateDir`; `owner` is undefined where the file is unreadable. */
export async function readRecords(
  stateDir: string,
): Promise<Array<{ index: number; owner: ProcessIdentity | undefined }>> {
  const names = await readdir(stateDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const records: Array<{ index: number; owner: ProcessIdentity | undefined }> = [];
  for (const name of names) {
    const match = RECORD_NAME.exec(name);
    if (!match) continue;
    const text = await readFile(join(stateDir, name), 'utf8').catch(() => '');
    records.push({ index: Number(match[1]), owner: parseIdentity(parseRecord(text)?.owner) });
  }
  return records;
}

export async function removeRecord(stateDir: string, index: number): Promise<void> {
  await rm(recordPath(stateDir, index), { force: true });
}

function parseRecord(text: string): { owner?: unknown } | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}
