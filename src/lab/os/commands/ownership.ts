import { androidId, isValidLabel } from '../fs/attributes.ts';
import { DeviceFsError, isDeviceFsError } from '../fs/errors.ts';
import type { LabOs } from '../lab-os.ts';
import { fail, type Command, type CommandResult } from '../shell/types.ts';

/** Splits leading `-R`, `-h`, `-f`, `-v` style flags from the operands. */
function flagsAndOperands(args: string[]): { flags: Set<string>; operands: string[] } {
  const flags = new Set<string>();
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (!arg.startsWith('-') || arg.length === 1) break;
    for (const f of arg.slice(1)) flags.add(f);
  }
  return { flags, operands: args.slice(i) };
}

/** The paths a command acts on: each operand, and with -R everything below a directory. */
async function targets(os: LabOs, path: string, recursive: boolean): Promise<string[]> {
  const stat = await os.fs.stat(path);
  if (!recursive || !stat || (stat.mode & 0o170000) !== 0o040000) return [path];
  const below: string[] = [];
  for (const entry of await os.fs.list(path))
    below.push(...(await targets(os, `${path.replace(/\/$/, '')}/${entry.name}`, true)));
  return [...below, path];
}

async function eachTarget(
  name: string,
  os: LabOs,
  operands: string[],
  recursive: boolean,
  apply: (path: string) => Promise<void>,
  describe: (path: string, reason: string) => string,
): Promise<CommandResult> {
  const errors: string[] = [];
  for (const operand of operands) {
    if (!(await os.fs.stat(operand))) {
      errors.push(`${name}: ${operand}: No such file or directory`);
      continue;
    }
    for (const path of await targets(os, operand, recursive)) {
      try {
        await apply(path);
      } catch (error) {
        if (!isDeviceFsError(error)) throw error;
        errors.push(describe(path, error.reason));
      }
    }
  }
  return { stderr: errors.map((e) => `${e}\n`).join(''), exitCode: errors.length > 0 ? 1 : 0 };
}

/**
 * `chown [-R] [OWNER][:GROUP] FILE...` (also `OWNER.GROUP`), names or numbers; only root changes
 * owners, as the kernel allows no one else to give a file away.
 */
export const chown: Command = async ({ args, os, root }) => {
  const { flags, operands } = flagsAndOperands(args);
  const [spec, ...paths] = operands;
  if (spec === undefined || paths.length === 0) return fail('chown: Need 2 arguments');
  const separator = spec.includes(':') ? ':' : spec.includes('.') ? '.' : undefined;
  const [ownerName, groupName] =
    separator === undefined
      ? [spec, undefined]
      : [spec.slice(0, spec.indexOf(separator)), spec.slice(spec.indexOf(separator) + 1)];
  const uid = ownerName === '' ? undefined : androidId(ownerName);
  if (ownerName !== '' && uid === undefined) return fail(`chown: no user '${ownerName}'`);
  const gid = groupName === undefined || groupName === '' ? undefined : androidId(groupName);
  if (groupName !== undefined && groupName !== '' && gid === undefined)
    return fail(`chown: no group '${groupName}'`);
  const shown = `${ownerName === '' ? '(null)' : ownerName}:${groupName === undefined || groupName === '' ? '(null)' : groupName}`;
  return eachTarget(
    'chown',
    os,
    paths,
    flags.has('R'),
    async (path) => {
      if (!root) throw new DeviceFsError('EPERM', path);
      await os.fs.setAttributes(path, {
        ...(uid === undefined ? {} : { uid }),
        ...(gid === undefined ? {} : { gid }),
      });
    },
    (path, reason) => `chown: changing owner:group of '${path}' to '${shown}': ${reason}`,
  );
};

/**
 * `chcon [-R] CONTEXT FILE...`: records the SELinux label `ls -Z` shows. Relabelling needs
 * root (the shell domain may not relabel files) and a well-formed context.
 */
export const chcon: Command = async ({ args, os, root }) => {
  const { flags, operands } = flagsAndOperands(args);
  const [label, ...paths] = operands;
  if (label === undefined || paths.length === 0) return fail('chcon: Need 2 arguments');
  const valid = isValidLabel(label);
  return eachTarget(
    'chcon',
    os,
    paths,
    flags.has('R'),
    async (path) => {
      if (!valid) throw new DeviceFsError('EINVAL', path);
      if (!root) throw new DeviceFsError('EACCES', path);
      await os.fs.setAttributes(path, { label });
    },
    (path, reason) => `chcon: '${path}' to ${label}: ${reason}`,
  );
};
