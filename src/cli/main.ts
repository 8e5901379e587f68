import { Command, CommanderError } from 'commander';
import { registerCancel } from './cancel.ts';
import { registerCorrelate } from './correlate.ts';
import { registerDemo } from './demo.ts';
import { registerDiff } from './diff.ts';
import { registerDoctor } from './doctor.ts';
import { registerInspect } from './inspect.ts';
import { registerLab } from './lab.ts';
import { EXIT } from './exit-codes.ts';
import { registerReport } from './report.ts';
import { registerRerun } from './rerun.ts';
import { registerServe } from './serve.ts';
import { registerSubmit } from './submit.ts';
import { registerWatch } from './watch.ts';
import { registerWorker } from './worker.ts';

const program = new Command()
  .name('canarytrap')
  .description(
    'Dynamic sandbox for suspect Android firmware: plants canaries, captures what leaves the device, reports every leak.',
  )
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

registerSubmit(program);
registerWorker(program);
registerWatch(program);
registerReport(program);
registerDiff(program);
registerRerun(program);
registerCancel(program);
registerServe(program);
registerDemo(program);
registerCorrelate(program);
registerLab(program);
registerInspect(program);
registerDoctor(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    throw error;
  }
}
