import { posix } from 'node:path';
import { DeviceFsError, isDeviceFsError } from '../fs/errors.ts';
import { fail, ok, type Command, type CommandResult } from '../shell/types.ts';
import type { LabFileStat } from '../../services.ts';

function isDir(stat: LabFileStat): boolean {
  return (stat.mode & 0o170000) === 0o040000;
}

function splitFlags(args: string[]): { flags: Set<string>; operands: string[] } {
  const flags = new Set<string>();
  const operands: string[] = [];
  for (const arg of args) {
    if (arg.startsWith('-') && arg.length > 1 && operands.length === 0)
      for (const f of arg.slice(1)) flags.add(f);
    else operands.push(arg);
  }
  return { flags, operands };
}

/** Runs `action` per operand; errors become `<cmd>: <path>: <reason>` lines and exit 1. */
async function eachPath(
  name: string,
  operands: string[],
  action: (path: string) => Promise<string | Buffer | void>,
): Promise<CommandResult> {
  const out: Buffer[] = [];
  const errors: string[] = [];
  for (const path of operands) {
    try {
      const produced = await action(path);
      if (produced !== undefined)
        out.push(typeof produced === 'string' ? Buffer.from(produced) : produced);
    } catch (error) {
      if (!isDeviceFsError(error)) throw error;
      errors.push(`${name}: ${path}: ${error.reason}\n`);
    }
  }
  return {
    stdout: Buffer.concat(out),
    stderr: errors.join(''),
    exitCode: errors.length > 0 ? 1 : 0,
  };
}

export const cat: Command = async ({ args, stdin, os }) => {
  if (args.length === 0 || (args.length === 1 && args[0] === '-'))
    return { stdout: stdin, exitCode: 0 };
  return eachPath('cat', args, (path) => os.fs.read(path));
};

function modeString(mode: number): string {
  const type = isDir({ mode, size: 0, mtime: 0 }) ? 'd' : '-';
  let bits = '';
  for (let shift = 6; shift >= 0; shift -= 3) {
    const part = (mode >> shift) & 7;
    bits += `${part & 4 ? 'r' : '-'}${part & 2 ? 'w' : '-'}${part & 1 ? 'x' : '-'}`;
  }
  return type + bits;
}

function longLine(stat: LabFileStat, name: string): string {
  const time = new Date(stat.mtime * 1000).toISOString().replace('T', ' ').slice(0, 16);
  return `${modeString(stat.mode)} 1 root root ${String(stat.size).padStart(8)} ${time} ${name}\n`;
}

export const ls: Command = async ({ args, os }) => {
  const { flags, operands } = splitFlags(args);
  const long = flags.has('l');
  return eachPath('ls', operands.length === 0 ? ['/'] : operands, async (path) => {
    const stat = await os.fs.stat(path);
    if (!stat) throw new DeviceFsError('ENOENT', path);
    if (!isDir(stat) || flags.has('d')) return long ? longLine(stat, path) : `${path}\n`;
    const entries = await os.fs.list(path);
    return entries
      .filter((e) => flags.has('a') || !e.name.startsWith('.'))
      .map((e) => (long ? longLine(e, e.name) : `${e.name}\n`))
      .join('');
  });
};

export const mkdir: Command = async ({ args, os }) => {
  const { flags, operands } = splitFlags(args);
  if (operands.length === 0) return fail('mkdir: Needs 1 argument');
  return eachPath('mkdir', operands, (path) => os.fs.mkdir(path, flags.has('p')));
};

export const rm: Command = async ({ args, os }) => {
  const { flags, operands } = splitFlags(args);
  const result = await eachPath('rm', operands, async (path) => {
    if (flags.has('f') && !(await os.fs.stat(path))) return;
    await os.fs.remove(path, flags.has('r') || flags.has('R'));
  });
  return result;
};

export const chmod: Command = async ({ args, os }) => {
  const { operands } = splitFlags(args);
  const [modeText, ...paths] = operands;
  if (modeText === undefined || !/^[0-7]{3,4}$/.test(modeText))
    return fail(`chmod: bad mode '${modeText ?? ''}'`);
  return eachPath('chmod', paths, (path) => os.fs.chmod(path, Number.parseInt(modeText, 8)));
};

export const touch: Command = async ({ args, os }) =>
  eachPath('touch', splitFlags(args).operands, async (path) => {
    if (!(await os.fs.stat(path))) await os.fs.write(path, Buffer.alloc(0), 0o644, 0);
  });

export const mount: Command = async ({ args, os, root }) => {
  if (args.length === 0) {
    return ok(
      `/dev/root / ext4 ro,seclabel,relatime 0 0\n/dev/block/vda /system ext4 ${os.systemWritable ? 'rw' : 'ro'},seclabel,relatime 0 0\n/dev/block/vdb /data ext4 rw,seclabel,nosuid,nodev,noatime 0 0\n`,
    );
  }
  const optionIndex = args.indexOf('-o');
  const options = optionIndex >= 0 ? (args[optionIndex + 1] ?? '').split(',') : [];
  const target = args.filter((_, i) => i !== optionIndex && i !== optionIndex + 1).at(-1);
  if (!options.includes('remount')) return fail('mount: only remount is supported on this device');
  if (!root) return fail('mount: Permission denied');
  if (target !== '/' && target !== '/system')
    return fail(`mount: '${target ?? ''}' not in /proc/mounts`);
  if (options.includes('rw')) os.systemWritable = true;
  else if (options.includes('ro')) os.systemWritable = false;
  return ok();
};

export const grep: Command = async ({ args, stdin, os }) => {
  const { flags, operands } = splitFlags(args);
  const [pattern, ...files] = operands;
  if (pattern === undefined) return fail('grep: no pattern');
  const re = new RegExp(
    flags.has('F') ? pattern.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&') : pattern,
    flags.has('i') ? 'i' : '',
  );
  const inputs =
    files.length === 0
      ? [stdin.toString('utf8')]
      : await Promise.all(files.map(async (f) => (await os.fs.read(f)).toString('utf8')));
  const lines = inputs.flatMap((text) =>
    text.split('\n').filter((line, i, all) => i < all.length - 1 || line !== ''),
  );
  const hits = lines.filter((line) => re.test(line) !== flags.has('v'));
  if (flags.has('c')) return { stdout: `${hits.length}\n`, exitCode: hits.length > 0 ? 0 : 1 };
  return { stdout: hits.map((l) => `${l}\n`).join(''), exitCode: hits.length > 0 ? 0 : 1 };
};

export const basenameCommand: Command = async ({ args }) =>
  ok(`${posix.basename(args[0] ?? '')}\n`);

/** `cp SRC DEST` (one file; DEST may be a directory), as toybox copies: mode kept, time now. */
export const cp: Command = async ({ args, os }) => {
  const operands = splitFlags(args).operands;
  const [source, target] = operands;
  if (operands.length !== 2 || source === undefined || target === undefined)
    return fail('cp: Need 2 arguments');
  try {
    const stat = await os.fs.stat(source);
    if (!stat) return fail(`cp: ${source}: No such file or directory`);
    if (isDir(stat)) return fail(`cp: ${source}: is a directory (not copied)`);
    const targetStat = await os.fs.stat(target);
    const destination =
      targetStat && isDir(targetStat)
        ? `${target.replace(/\/$/, '')}/${source.split('/').at(-1) ?? ''}`
        : target;
    await os.fs.write(
      destination,
      await os.fs.read(source),
      stat.mode & 0o7777,
      Math.floor(os.clock.now() / 1000),
    );
    return ok();
  } catch (error) {
    return fail(
      `cp: ${target}: ${(error as { reason?: string }).reason ?? (error as Error).message}`,
    );
  }
};
