import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { InputError } from '../errors.ts';
import { renderReportHtml } from '../report/html.ts';
import type { Report } from '../report/model.ts';
import { readRunReport } from '../run/run-report.ts';
import type { Config } from '../config.ts';
import { leakSummary } from './render.ts';
import { action, cliRuntime } from './runtime.ts';

/** A run's report as the CLI reads it (readRunReport: checked, `report-not-found` if none). */
export async function loadReport(config: Config, runId: string): Promise<Report> {
  return readRunReport(config.dataRoot, runId);
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description("print a finished run's report")
    .argument('<run>', 'run id')
    .option('--format <format>', 'json | html | text', 'text')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .addHelpText('after', '\nExit codes: 0 printed, 3 unknown run or format.')
    .action(
      action(async (run: string, flags: { format: string; output?: string }) => {
        const { config } = cliRuntime();
        const report = await loadReport(config, run);
        let text: string;
        if (flags.format === 'json') text = `${JSON.stringify(report, null, 2)}\n`;
        else if (flags.format === 'html') text = renderReportHtml(report);
        else if (flags.format === 'text') text = `${leakSummary(report)}\n`;
        else
          throw new InputError(
            'format-unknown',
            `--format ${flags.format} is not one of json, html, text`,
          );
        if (flags.output) await writeFile(flags.output, text);
        else process.stdout.write(text);
        return 0;
      }),
    );
}
