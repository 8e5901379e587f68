import type { Command } from 'commander';
import { InputError } from '../errors.ts';
import { ensureRedis } from '../queue/connection.ts';
import { startServer } from '../server/index.ts';
import { action, cliRuntime } from './runtime.ts';

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
      '\nThe token is CANARYTRAP_API_TOKEN, else one generated on first start and kept in <data root>/api-token.\nRuns need a worker: `canarytrap worker`. Exit codes: 0 stopped, 2 bad option, 5 no Redis.',
    )
    .action(
      action(async (flags: { port: string; host: string }) => {
        const { config, logger } = cliRuntime();
        const port = Number(flags.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) {
          throw new InputError('port-invalid', `--port ${flags.port} is not a TCP port`);
        }
        const redis = await ensureRedis(config, logger);
        const server = await startServer({
          config,
          logger,
          redisUrl: redis.url,
          port,
          host: flags.host,
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
