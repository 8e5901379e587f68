import type { Command } from 'commander';
import { InputError } from '../errors.ts';
import { diffReports } from '../report/diff.ts';
import { renderDiffHtml } from '../report/diff-html.ts';
import { renderDiffText } from '../report/diff-text.ts';
import { terminalSafeJson } from '../terminal-text.ts';
import { printDocument } from './output.ts';
import { loadReport } from './report.ts';
import { action, cliRuntime } from './runtime.ts';

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('compare two runs of one lineage: fixed, still leaking, new')
    .argument('<base>', 'the earlier run id')
    .argument('<next>', 'the later run id (e.g. after the vendor update)')
    .option('--format <format>', 'text | json | html', 'text')
    .addHelpText('after', '\nExit codes: 0 printed, 3 unknown run or format.')
    .action(
      action(async (base: string, next: string, flags: { format: string }) => {
        const { config } = cliRuntime();
        const diff = diffReports(await loadReport(config, base), await loadReport(config, next));
        if (flags.format === 'json') process.stdout.write(`${terminalSafeJson(diff)}\n`);
        else if (flags.format === 'html') printDocument(renderDiffHtml(diff));
        else if (flags.format === 'text') process.stdout.write(`${renderDiffText(diff)}\n`);
        else
          throw new InputError(
            'format-unknown',
            `--format ${flags.format} is not one of text, json, html`,
          );
        return 0;
      }),
    );
}
