import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: Array<{ name: string }>;
}) => S3rverInstance;

/** s3rver's fixed credentials: it checks signatures against these. */
const S3RVER_KEY = 'S3RVER';

export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** The variables a canarytrap host needs to use this store under `prefix`. */
  env(prefix: string): Record<string, string>;
  close(): Promise<void>;
}

/** A real S3-protocol server (s3rver) on loopback, with one bucket, its objects in a temp dir. */
export async function startTestS3(
  bucket = 'canarytrap-runs',
  address = '127.0.0.1',
  port = 0,
): Promise<TestS3> {
  const S3rver = require('s3rver') as S3rverClass;
  const directory = await mkdtemp(join(tmpdir(), 'canarytrap-s3-'));
  const server = new S3rver({
    address,
    port,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const listening = await server.run();
  const endpoint = `http://${address}:${listening.port}`;
  return {
    endpoint,
    bucket,
    env: (prefix) => ({
      CANARYTRAP_STORE: `s3://${bucket}/${prefix}`,
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: S3RVER_KEY,
      AWS_SECRET_ACCESS_KEY: S3RVER_KEY,
    }),
    close: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
