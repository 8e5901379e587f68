/**
 * What intake and image building need from a system partition, whatever its filesystem: list a directory, read a
 * small file, copy many files out. Build facts and the app inventory are written against this,
 * so a new filesystem is one more implementation rather than a branch in every reader.
 */
export interface PartitionReader {
  readonly filesystem: PartitionFilesystem;
  /** Entries of a directory (absolute path inside the partition); undefined when absent. */
  listDir(path: string): Promise<PartitionEntry[] | undefined>;
  /** A regular file's bytes; undefined when absent. Larger than maxBytes: an error. */
  readFile(path: string, maxBytes: number): Promise<Buffer | undefined>;
  /** Copies files out to local paths; absent ones are skipped (callers check what arrived). */
  extractFiles(files: ReadonlyArray<{ from: string; to: string }>): Promise<void>;
}

export type PartitionFilesystem = 'ext4' | 'erofs';

export interface PartitionEntry {
  name: string;
  kind: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
}

export interface OpenPartitionOptions {
  timeoutMs: number;
  /** A private, empty directory the reader may fill (erofs is extracted there). */
  scratchDir: string;
  /** Largest total the erofs extraction may write. */
  maxExtractBytes: number;
}
