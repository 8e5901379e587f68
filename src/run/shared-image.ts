import { join } from 'node:path';
import type { Config } from '../config.ts';
import type { AnalysisJobData } from '../queue/job-data.ts';
import { openRunStore } from './run-store.ts';
import { removeUploadOf } from './uploads.ts';

/**
 * Job data whose image workers on other hosts can read: with a shared store, the image file is
 * copied there (once per content) and the job carries its key. An uploaded image is then
 * removed from this host's uploads, as the store holds it. Without a shared store: unchanged.
 */
export async function withSharedImage(
  config: Pick<Config, 'dataRoot' | 'store'>,
  data: AnalysisJobData,
): Promise<AnalysisJobData> {
  const store = await openRunStore(config);
  if (!store || data.imageKey) return data;
  const imageKey = await store.putImage(data.imagePath);
  await removeUploadOf(config, data.imagePath);
  return { ...data, imageKey };
}

/** Where a worker reads a job's image: the shared store's copy when the job names one. */
export async function localImagePath(
  config: Pick<Config, 'dataRoot' | 'store'>,
  data: AnalysisJobData,
): Promise<string> {
  if (!data.imageKey) return data.imagePath;
  const store = await openRunStore(config);
  if (!store) return data.imagePath;
  return store.getImage(data.imageKey, join(config.dataRoot, 'cache', 'store-images'));
}
