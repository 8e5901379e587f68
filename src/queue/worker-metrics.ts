import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { CanarytrapError } from '../errors.ts';
import type { WorkerHandle } from './worker.ts';

/**
 * A worker's own `GET /metrics` (Prometheus text format), for `worker --metrics <host:port>`:
 * its slots, the runs (devices) it has now and the runs it ended, by outcome. Queue depth is the
 * API's to report (it sees every lane); a worker reports what only it knows.
 */
export async function serveWorkerMetrics(
  worker: WorkerHandle,
  host: string,
  port: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const registry = new Registry();
  new Gauge({
    name: 'canarytrap_worker_slots',
    help: 'Runs this worker may run at once',
    registers: [registry],
    collect() {
      this.set(worker.stats().slots);
    },
  });
  new Gauge({
    name: 'canarytrap_worker_devices_in_use',
    help: 'Runs on a device on this worker now',
    registers: [registry],
    collect() {
      this.set(worker.stats().running);
    },
  });
  const ended = new Counter({
    name: 'canarytrap_worker_runs_ended_total',
    help: 'Run attempts this worker ended, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  let counted = { completed: 0, failed: 0 };
  const refresh = () => {
    const stats = worker.stats();
    ended.inc({ outcome: 'completed' }, stats.completed - counted.completed);
    ended.inc({ outcome: 'failed' }, stats.failed - counted.failed);
    counted = { completed: stats.completed, failed: stats.failed };
  };
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics\n');
      return;
    }
    refresh();
    void registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new CanarytrapError(
          error.code === 'EADDRINUSE' ? 'port-in-use' : 'address-unavailable',
          `the worker's metrics cannot listen on ${host}:${port}: ${error.message}`,
          { permanent: true, expected: true, hint: 'choose another --metrics address' },
        ),
      ),
    );
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
