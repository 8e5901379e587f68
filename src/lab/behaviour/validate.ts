import { InputError } from '../../errors.ts';
import type { Behaviour, LabImage, SettingCondition } from '../image-schema.ts';
import { planCipher } from './ciphers.ts';
import { encodesToDnsLabels, encodesToText } from './encode.ts';

export interface BehaviourProblem {
  package: string;
  behaviour: string;
  problem: string;
}

const SETTING_KEY = /^[A-Za-z0-9_.-]+$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/;

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
  const send = behaviour.send;
  switch (send.channel) {
    case 'http':
    case 'https':
      if (!HOST_NAME.test(send.host)) problems.push(`send.host "${send.host}" is not a host name`);
      if (/[\s#]/.test(send.path))
        problems.push(`send.path "${send.path}" has a space or a fragment`);
      if (send.port !== undefined && send.port > 65535)
        problems.push(`send.port ${send.port} is not a TCP port`);
      if (
        (send.carry.as === 'form' || send.carry.as === 'json') &&
        !encodesToText(behaviour.encode)
      ) {
        problems.push(
          `carry "${send.carry.as}" needs a text payload: end the encode steps with base64 or hex`,
        );
      }
      if (send.carry.as === 'form') {
        if (send.carry.field === '') problems.push('carry "form" needs a field name');
        for (const name of Object.keys(send.carry.fields ?? {})) {
          if (name === '') problems.push('carry.fields has an empty field name');
          if (name === send.carry.field)
            problems.push(`carry.fields repeats the payload field "${name}"`);
        }
      }
      if (send.carry.as === 'query' && behaviour.encode.length > 0) {
        problems.push(
          'carry "query" sends the collected fields unencoded: remove the encode steps or carry the payload otherwise',
        );
      }
      for (const [name, value] of Object.entries(send.headers ?? {})) {
        if (!HEADER_NAME.test(name)) problems.push(`header name "${name}" is not an HTTP token`);
        if (/[\r\n]/.test(value)) problems.push(`header "${name}" has a line break in its value`);
        if (name.toLowerCase() === 'content-length')
          problems.push('Content-Length is computed from the body: remove it from send.headers');
      }
      break;
    case 'tcp':
      if (!HOST_NAME.test(send.host)) problems.push(`send.host "${send.host}" is not a host name`);
      if (send.port > 65535) problems.push(`send.port ${send.port} is not a TCP port`);
      break;
    case 'dns':
      if (!HOST_NAME.test(send.zone)) problems.push(`send.zone "${send.zone}" is not a DNS name`);
      if (!encodesToDnsLabels(behaviour.encode)) {
        problems.push(
          'the dns channel needs DNS-safe text: end the encode steps with hex or URL-safe base64',
        );
      }
      break;
    case 'sms':
      if (send.destination.trim() === '') problems.push('send.destination is empty');
      break;
  }
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
