import type { Command } from 'commander';
import { formatChecks, runDoctor } from '../doctor/index.ts';
import { terminalSafe, terminalSafeLines } from '../terminal-text.ts';
import { EXIT } from './exit-codes.ts';
import { action, cliRuntime } from './runtime.ts';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'check this host for what the Android SDK emulator path needs, and say how to get each missing piece',
    )
    .addHelpText(
      'after',
      '\nChecks: Android SDK (ANDROID_HOME), emulator, adb, KVM, system images, frida-server per ABI (CANARYTRAP_FRIDA_SERVER_DIR), the frida module, Redis, intake tools.\nExit codes: 0 everything present, 5 something is missing.',
    )
    .action(
      action(async () => {
        const { config } = cliRuntime();
        const results = await runDoctor(config);
        // Details quote tool output and paths; a fix may span lines.
        process.stdout.write(terminalSafeLines(formatChecks(results)));
        const lacking = results.filter((result) => !result.ok);
        if (lacking.length === 0) return EXIT.ok;
        process.stdout.write(
          `\n${lacking.length} missing: ${terminalSafe(lacking.map((result) => result.name).join(', '))}\n`,
        );
        return EXIT.environment;
      }),
    );
}
