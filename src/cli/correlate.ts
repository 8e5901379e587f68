import type { Command } from 'commander';
import { correlateFiles } from '../correlate/index.ts';
import { InputError } from '../errors.ts';
import { terminalSafe, terminalSafeJson } from '../terminal-text.ts';
import { assertOutputPath, writeOutputFile } from './output.ts';
import { leakLine } from './render.ts';
import { action } from './runtime.ts';

interface CorrelateFlags {
  canaries: string;
  pcap: string[];
  har: string[];
  events: string[];
  keylog?: string;
  baselineCanaries?: string;
  baselinePcap: string[];
  baselineHar: string[];
  json?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerCorrelate(program: Command): void {
  program
    .command('correlate')
    .description(
      'find canaries in captures made anywhere: pcap/pcapng, HAR and instrumentation events',
    )
    .requiredOption('--canaries <set.json>', 'the canary set file of the run')
    .option('--pcap <file>', 'a pcap or pcapng capture (repeatable)', collect, [])
    .option('--har <file>', 'a HAR 1.2 file (repeatable)', collect, [])
    .option('--events <file>', 'instrumentation events, JSON Lines (repeatable)', collect, [])
    .option('--keylog <file>', 'NSS key log (SSLKEYLOGFILE) to decrypt TLS in the pcaps')
    .option(
      '--baseline-canaries <set.json>',
      'canary set of a baseline run of the same image (differential mode)',
    )
    .option('--baseline-pcap <file>', 'baseline capture (repeatable)', collect, [])
    .option('--baseline-har <file>', 'baseline HAR (repeatable)', collect, [])
    .option('--json <out.json>', 'write the leaks and warnings as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 done (leaks or not), 3 unreadable input or a --json path that cannot be written.',
    )
    .action(
      action(async (flags: CorrelateFlags) => {
        if (flags.pcap.length + flags.har.length + flags.events.length === 0) {
          throw new InputError('correlate-no-input', 'nothing to search', {
            hint: 'give at least one --pcap, --har or --events file',
          });
        }
        // Before the work: a search of large captures should not end in a path that cannot be written.
        if (flags.json) await assertOutputPath(flags.json, '--json');
        const result = await correlateFiles({
          canariesPath: flags.canaries,
          pcap: flags.pcap,
          har: flags.har,
          events: flags.events,
          ...(flags.keylog ? { keylog: flags.keylog } : {}),
          ...(flags.baselineCanaries
            ? {
                baseline: {
                  canariesPath: flags.baselineCanaries,
                  pcap: flags.baselinePcap,
                  har: flags.baselineHar,
                },
              }
            : {}),
        });
        for (const warning of result.warnings)
          process.stderr.write(`warning: ${terminalSafe(warning)}\n`);
        for (const leak of result.leaks) process.stdout.write(`${leakLine(leak)}\n`);
        process.stdout.write(
          `${result.leaks.length} leaks, ${result.opaque.length} opaque flows\n`,
        );
        if (flags.json)
          await writeOutputFile(flags.json, '--json', `${terminalSafeJson(result)}\n`);
        return 0;
      }),
    );
}
