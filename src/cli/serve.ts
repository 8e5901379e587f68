import type { Command } from 'commander';
import { createServer } from 'node:net';
import { CanarytrapError } from '../errors.ts';
import { ensureRedis } from '../queue/connection.ts';
import { startServer } from '../server/index.ts';
import { wholeNumberFlag } from './flags.ts';
import { action, cliRuntime } from './runtime.ts';

/** The listen failures a person can act on, by errno: each names what to change. */
const LISTEN_FAILURES: Record<string, { code: string; why: string; hint: string }> = {
  EADDRINUSE: {
    code: 'port-in-use',
    why: 'the port is in use by another program',
    hint: 'pick another port with --port, or stop what listens there',
  },
  EACCES: {
    code: 'port-forbidden',
    why: 'this user may not listen on that port',
    hint: 'pick a port above 1023 with --port, or run as a user allowed to bind it',
  },
  EADDRNOTAVAIL: {
    code: 'address-unavailable',
    why: 'the address is not one of this host',
    hint: 'pick an address of this host with --host; the default is 127.0.0.1',
  },
  ENOTFOUND: {
    code: 'address-unavailable',
    why: 'the host name does not resolve',
    hint: 'pick an address of this host with --host; the default is 127.0.0.1',
  },
};

/** A listen error as one line naming host:port and what to do; anything else as it is. */
export function listenError(error: unknown, host: string, port: number): unknown {
  const errno = (error as { code?: unknown } | undefined)?.code;
  const failure = typeof errno === 'string' ? LISTEN_FAILURES[errno] : undefined;
  if (!failure) return error;
  const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new CanarytrapError(failure.code, `cannot listen on ${where}: ${failure.why}`, {
    cause: error,
    hint: failure.hint,
    expected: true,
    permanent: true,
  });
}

/**
 * Listens on host:port and lets go at once, so a port in use is refused before Redis is started
 * or the queue opened. The server's own listen can still lose a race for the port.
 */
async function probeListen(host: string, port: number): Promise<void> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(port, host, () => resolve());
  }).catch((error: unknown) => {
    throw listenError(error, host, port);
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'serve the web interface and HTTP API: submit, watch live, reports, rerun, diff, exports',
    )
    .option('--port <n>', 'TCP port', '8080')
    .option(
      '--host <address>',
      'address to listen on (keep it on loopback unless a proxy fronts it)',
      '127.0.0.1',
    )
    .addHelpText(
      'after',
      '\nThe token is CANARYTRAP_API_TOKEN, else one generated on first start and kept in <data root>/api-token.\nRuns need a worker: `canarytrap worker`. Exit codes: 0 stopped, 2 bad option, 5 no Redis, or the port is in use or not allowed.',
    )
    .action(
      action(async (flags: { port: string; host: string }) => {
        const { config, logger } = cliRuntime();
        const port = wholeNumberFlag(flags.port, {
          flag: '--port',
          min: 0,
          max: 65535,
          code: 'port-invalid',
          expect: 'a TCP port number',
        });
        // Port 0 is any free port: nothing to probe.
        if (port !== 0) await probeListen(flags.host, port);
        const redis = await ensureRedis(config, logger);
        const server = await startServer({
          config,
          logger,
          redisUrl: redis.url,
          port,
          host: flags.host,
        }).catch(async (error: unknown) => {
          await redis.embedded?.release();
          throw listenError(error, flags.host, port);
        });
        process.stdout.write(`serving on ${server.url}\n`);
        if (server.tokenGenerated) {
          // Printed this once; afterwards it is in <data root>/api-token (mode 0600).
          process.stdout.write(
            `API token (shown once): ${server.token}\nopen ${server.url}/?token=${server.token}\n`,
          );
        }
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await server.close();
        await redis.embedded?.release();
        return 0;
      }),
    );
}
