import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { sweepCages } from '../../src/capture/cage/index.ts';
import { cageStateDir, loadConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { CLI, REPO_ROOT } from './cli-run.ts';
import { makeCluster, type Cluster } from './cluster-hosts.ts';
import { lineOn } from './process-output.ts';

/** Waits for a line from a child; if it does not come, the error carries what it wrote to stderr. */
async function ready(child: ResultPromise, pattern: RegExp, timeoutMs: number, what: string) {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  try {
    await lineOn(child.stdout, pattern, timeoutMs);
  } catch (error) {
    throw new Error(`${what} did not start: ${(error as Error).message}\nstderr: ${stderr}`);
  }
}

/**
 * canarytrap deployed on a cluster of namespace hosts (cluster-hosts.ts) as a user would deploy
 * it: redis-server (append-only file on), the S3 test server and `canarytrap serve` in the hub,
 * one `canarytrap worker` per worker host, each host with its own data root; they share Redis
 * and the S3 store only.
 */
export interface ClusterServices {
  cluster: Cluster;
  apiUrl: string;
  token: string;
  /** The variables of a host (its own data root under the test's temp dir). */
  hostEnv(host: string): Record<string, string>;
  /** The worker process of each worker host now running, by namespace. */
  workers: Map<string, ResultPromise>;
  startWorker(ns: string): Promise<void>;
  /** Stops Redis (SIGTERM: it writes its append-only file) and starts it on the same directory. */
  restartRedis(): Promise<void>;
  close(): Promise<void>;
}

const REDIS_PORT = 6379;
const S3_PORT = 9000;
const API_PORT = 8080;
const TOKEN = 'cluster-token-0123456789';
const BUCKET = 'canarytrap-runs';

export async function startClusterServices(workerCount: number): Promise<ClusterServices> {
  const root = await mkdtemp(join(tmpdir(), 'canarytrap-cluster-'));
  const cluster = await makeCluster(workerCount);
  const workers = new Map<string, ResultPromise>();
  const redisDir = join(root, 'hub', 'redis');
  let redis: ResultPromise | undefined;
  const hostEnv = (host: string): Record<string, string> => ({
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: join(root, host, 'home'),
    CANARYTRAP_DATA: join(root, host, 'data'),
    CANARYTRAP_REDIS_URL: `redis://${cluster.hubIp}:${REDIS_PORT}`,
    CANARYTRAP_QUEUE_PREFIX: 'cluster',
    CANARYTRAP_STORE: `s3://${BUCKET}/cluster`,
    AWS_ENDPOINT_URL_S3: `http://${cluster.hubIp}:${S3_PORT}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    CANARYTRAP_API_TOKEN: TOKEN,
    CANARYTRAP_LOG_LEVEL: 'warn',
    // A killed host's run goes to another within seconds.
    CANARYTRAP_STALLED_INTERVAL_MS: '5000',
    ...(process.env['CANARYTRAP_LAB_IMAGE_CACHE']
      ? { CANARYTRAP_LAB_IMAGE_CACHE: process.env['CANARYTRAP_LAB_IMAGE_CACHE'] }
      : {}),
  });
  const startRedis = async () => {
    redis = cluster.spawn(
      cluster.hub,
      'redis-server',
      [
        ...['--bind', cluster.hubIp, '--port', String(REDIS_PORT), '--dir', redisDir],
        ...['--appendonly', 'yes', '--save', ''],
        // Bound to the hub's own address, reached only over the test's namespaces.
        ...['--protected-mode', 'no'],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await ready(redis, /Ready to accept connections/, 15_000, 'redis-server');
  };
  const startWorker = async (ns: string) => {
    await mkdir(join(root, ns, 'home'), { recursive: true });
    const worker = cluster.spawn(ns, process.execPath, [CLI, 'worker', '--concurrency', '1'], {
      cwd: REPO_ROOT,
      env: hostEnv(ns),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    workers.set(ns, worker);
    await ready(worker, /worker up/, 60_000, `the worker of ${ns}`);
  };
  const close = async () => {
    await cluster.close();
    // Workers killed with their hosts leave their cages; a worker starting again on that host
    // would sweep them, and so does the test (the owners are dead, so only theirs go).
    for (const worker of cluster.workers) {
      await sweepCages({
        stateDir: cageStateDir(loadConfig(hostEnv(worker.ns))),
        logger: silentLogger(),
      }).catch(() => []);
    }
    await rm(root, { recursive: true, force: true });
  };
  try {
    await mkdir(redisDir, { recursive: true });
    await mkdir(join(root, 'hub', 'home'), { recursive: true });
    await startRedis();
    const s3 = cluster.spawn(
      cluster.hub,
      process.execPath,
      [
        ...['--import', 'tsx', 'test/support/s3-server-main.ts'],
        ...[cluster.hubIp, String(S3_PORT), BUCKET],
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await ready(s3, /s3 ready/, 30_000, 'the S3 server');
    const api = cluster.spawn(
      cluster.hub,
      process.execPath,
      [CLI, 'serve', '--host', cluster.hubIp, '--port', String(API_PORT)],
      { cwd: REPO_ROOT, env: hostEnv('hub'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await ready(api, /serving on/, 30_000, 'canarytrap serve');
    for (const worker of cluster.workers) await startWorker(worker.ns);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    cluster,
    apiUrl: `http://${cluster.hubIp}:${API_PORT}`,
    token: TOKEN,
    hostEnv,
    workers,
    startWorker,
    restartRedis: async () => {
      redis?.kill('SIGTERM');
      await redis;
      await startRedis();
    },
    close,
  };
}

/** Submits a bundled lab image through the cluster's API; resolves with the run id. */
export async function submitLabRun(
  services: Pick<ClusterServices, 'apiUrl' | 'token'>,
  lab: string,
  options: Record<string, unknown>,
): Promise<string> {
  const answer = await fetch(`${services.apiUrl}/api/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${services.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ lab, options }),
  });
  const text = await answer.text();
  if (answer.status !== 201) throw new Error(`submitting ${lab}: ${answer.status} ${text}`);
  return (JSON.parse(text) as { runId: string }).runId;
}
