import { Command, CommanderError } from 'commander';
import { EXIT } from './exit-codes.ts';

type Register = (program: Command) => void;

/**
 * Each command's module, loaded only when it is needed: together they pull in the queue, the
 * proxy, Appium's client and a browser driver, which cost seconds of start-up that `inspect` or
 * `report` never use. The command named on the command line is loaded alone; help, a missing or an
 * unknown command loads them all, so the listing and commander's suggestions stay complete.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  submit: async () => (await import('./submit.ts')).registerSubmit,
  worker: async () => (await import('./worker.ts')).registerWorker,
  watch: async () => (await import('./watch.ts')).registerWatch,
  report: async () => (await import('./report.ts')).registerReport,
  diff: async () => (await import('./diff.ts')).registerDiff,
  rerun: async () => (await import('./rerun.ts')).registerRerun,
  cancel: async () => (await import('./cancel.ts')).registerCancel,
  serve: async () => (await import('./serve.ts')).registerServe,
  demo: async () => (await import('./demo.ts')).registerDemo,
  correlate: async () => (await import('./correlate.ts')).registerCorrelate,
  lab: async () => (await import('./lab.ts')).registerLab,
  inspect: async () => (await import('./inspect.ts')).registerInspect,
  doctor: async () => (await import('./doctor.ts')).registerDoctor,
};

const program = new Command()
  .name('canarytrap')
  .description(
    'Dynamic sandbox for suspect Android firmware: plants canaries, captures what leaves the device, reports every leak.',
  )
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

const named = process.argv[2];
const wanted =
  named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
for (const register of await Promise.all(wanted.map((name) => COMMANDS[name]!()))) {
  register(program);
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    throw error;
  }
}
