import { InputError } from '../../errors.ts';
import type { Behaviour, LabImage, SettingCondition } from '../../android/lab-image.ts';
import { planCipher } from './ciphers.ts';
import { sendProblems } from './validate-send.ts';

export interface BehaviourProblem {
  package: string;
  behaviour: string;
  problem: string;
}

const SETTING_KEY = /^[A-Za-z0-9_.-]+$/;

/**
 * Checks that every behaviour of the image can run, before any is scheduled: a schema-valid
 * image can still ask for a form field holding gzip bytes or an AES key of 10 bytes. Throws one
 * `lab-image-invalid` error naming every app and behaviour at fault.
 */
export function assertRunnable(image: LabImage): void {
  const problems = findProblems(image);
  if (problems.length === 0) return;
  const lines = problems.map((p) => `${p.package} / ${p.behaviour}: ${p.problem}`);
  throw new InputError(
    'lab-image-invalid',
    `lab image "${image.name}" has behaviours that cannot run: ${lines.join('; ')}`,
    {
      hint: 'fix those behaviours in the lab image file',
      details: { image: image.name, problems },
    },
  );
}

export function findProblems(image: LabImage): BehaviourProblem[] {
  const problems: BehaviourProblem[] = [];
  for (const app of image.apps) {
    const seenIds = new Set<string>();
    const seenJobs = new Set<number>();
    for (const behaviour of app.behaviours) {
      const report = (problem: string): void => {
        problems.push({ package: app.package, behaviour: behaviour.id, problem });
      };
      if (seenIds.has(behaviour.id))
        report('the id is used twice in this app (alarm tags would collide)');
      seenIds.add(behaviour.id);
      if (behaviour.trigger.on === 'job') {
        if (seenJobs.has(behaviour.trigger.jobId))
          report(`job id ${behaviour.trigger.jobId} is used twice in this app`);
        seenJobs.add(behaviour.trigger.jobId);
      }
      for (const problem of behaviourProblems(behaviour)) report(problem);
    }
  }
  return problems;
}

function behaviourProblems(behaviour: Behaviour): string[] {
  const problems: string[] = [...settingProblems(behaviour)];
  behaviour.encode.forEach((step, index) => {
    if (step.op !== 'aes' && step.op !== 'des' && step.op !== '3des') return;
    const plan = planCipher(step);
    if (typeof plan === 'string') problems.push(`encode step ${index + 1} (${step.op}): ${plan}`);
  });
  problems.push(...sendProblems(behaviour));
  return problems;
}

/**
 * A setting the behaviour waits for must be one `settings put` can write and `settings get` can
 * read back on one line, and a `setting` trigger must not wait for a value its own `when` rules out.
 */
function settingProblems(behaviour: Behaviour): string[] {
  const problems: string[] = [];
  const check = (where: string, condition: SettingCondition): void => {
    if (!SETTING_KEY.test(condition.key))
      problems.push(
        `${where}.key "${condition.key}" is not a settings key (letters, digits, _ . - only)`,
      );
    if (/[\r\n]/.test(condition.equals))
      problems.push(`${where}.equals has a line break: settings values are one line`);
  };
  const trigger = behaviour.trigger;
  if (trigger.on === 'setting') check('trigger', trigger);
  const when = behaviour.when?.setting;
  if (when !== undefined) check('when.setting', when);
  if (
    trigger.on === 'setting' &&
    when !== undefined &&
    when.namespace === trigger.namespace &&
    when.key === trigger.key &&
    when.equals !== trigger.equals
  ) {
    problems.push(
      `the trigger waits for ${trigger.key} = "${trigger.equals}" but when.setting requires "${when.equals}": it would never send`,
    );
  }
  return problems;
}
