import type { Command } from 'commander';
import { InputError } from '../errors.ts';
import { renderReportHtml } from '../report/html.ts';
import type { Report } from '../report/model.ts';
import { readRunReport } from '../run/run-report.ts';
import type { Config } from '../config.ts';
import { terminalSafeJson } from '../terminal-text.ts';
import { assertOutputPath, printDocument, writeOutputFile } from './output.ts';
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
    .addHelpText(
      'after',
      '\nWith -o the file is written whole or not at all. Exit codes: 0 printed, 3 unknown run or format, or an output path that cannot be written.',
    )
    .action(
      action(async (run: string, flags: { format: string; output?: string }) => {
        const { config } = cliRuntime();
        if (flags.output) await assertOutputPath(flags.output, '-o');
        const report = await loadReport(config, run);
        let text: string;
        if (flags.format === 'json') text = `${terminalSafeJson(report)}\n`;
        else if (flags.format === 'html') text = renderReportHtml(report);
        else if (flags.format === 'text') text = `${leakSummary(report)}\n`;
        else
          throw new InputError(
            'format-unknown',
            `--format ${flags.format} is not one of json, html, text`,
          );
        if (flags.output) await writeOutputFile(flags.output, '-o', text);
        else if (flags.format === 'html') printDocument(text);
        else process.stdout.write(text);
        return 0;
      }),
    );
}
