import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageInventory, ImageMetadata, StoredImage } from './types.ts';

const SHA256 = /^[0-9a-f]{64}$/;
const PARTIAL_DIR = '.partial';

/**
 * The content-addressed image store, `<dataRoot>/images/<sha256>/`. An entry appears by one
 * rename of a fully written directory, so readers and concurrent intakes never see half of one;
 * work in progress lives under `.partial/` in the same filesystem, which makes that rename atomic.
 */
export class ImageStore {
  readonly root: string;

  constructor(dataRoot: string) {
    this.root = join(dataRoot, 'images');
  }

  entryDir(id: string): string {
    if (!SHA256.test(id)) throw new Error(`not an image id: ${id}`);
    return join(this.root, id);
  }

  /** The stored image, or undefined when it is not (completely) there. */
  async get(id: string): Promise<StoredImage | undefined> {
    const dir = this.entryDir(id);
    let metadataText: string;
    let inventoryText: string;
    try {
      [metadataText, inventoryText] = await Promise.all([
        readFile(join(dir, 'metadata.json'), 'utf8'),
        readFile(join(dir, 'inventory.json'), 'utf8'),
      ]);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return {
      id,
      dir,
      systemImagePath: join(dir, 'system.img'),
      reused: true,
      metadata: JSON.parse(metadataText) as ImageMetadata,
      inventory: JSON.parse(inventoryText) as ImageInventory,
    };
  }

  /** Ids of every complete entry. */
  async list(): Promise<string[]> {
    try {
      return (await readdir(this.root)).filter((name) => SHA256.test(name)).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  /** A fresh private work directory inside the store root (same filesystem as the entries). */
  async createPartial(id: string): Promise<string> {
    const dir = join(
      this.root,
      PARTIAL_DIR,
      `${id.slice(0, 16)}-${process.pid}-${randomBytes(6).toString('hex')}`,
    );
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /**
   * Moves a finished entry directory into place. Resolves 'exists' when another intake of the
   * same image won the race; the caller then uses that entry and discards its own.
   */
  async commit(readyDir: string, id: string): Promise<'committed' | 'exists'> {
    try {
      await rename(readyDir, this.entryDir(id));
      return 'committed';
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return 'exists';
      throw error;
    }
  }

  async discard(partialDir: string): Promise<void> {
    await rm(partialDir, { recursive: true, force: true });
  }

  /** Removes work directories left by intakes that died (older than `olderThanMs`). */
  async removeStalePartials(olderThanMs = 6 * 3600_000, now = Date.now()): Promise<number> {
    const base = join(this.root, PARTIAL_DIR);
    let removed = 0;
    let names: string[];
    try {
      names = await readdir(base);
    } catch {
      return 0;
    }
    for (const name of names) {
      const path = join(base, name);
      const info = await stat(path);
      if (now - info.mtimeMs > olderThanMs) {
        await rm(path, { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }
}
