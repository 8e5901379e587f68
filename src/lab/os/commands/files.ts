import { posix } from 'node:path';
import { androidName } from '../fs/attributes.ts';
import { DeviceFsError, isDeviceFsError } from '../fs/errors.ts';
import {
  fail,
  ok,
  type Command,
  type CommandInvocation,
  type CommandResult,
} from '../shell/types.ts';
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
    // setuid, setgid and sticky take the x column of user, group and other.
    const special = mode & (shift === 6 ? 0o4000 : shift === 3 ? 0o2000 : 0o1000);
    const mark = shift === 0 ? 't' : 's';
    const x = part & 1 ? (special ? mark : 'x') : special ? mark.toUpperCase() : '-';
    bits += `${part & 4 ? 'r' : '-'}${part & 2 ? 'w' : '-'}${x}`;
  }
  return type + bits;
}

interface ListedFile {
  stat: LabFileStat;
  /** Device path, for its attributes. */
  path: string;
  /** As printed. */
  name: string;
}

/** toybox's `ls -l`: columns padded to the widest entry of the listing. */
async function longLines(
  files: ListedFile[],
  os: CommandInvocation['os'],
  options: { numeric: boolean; label: boolean },
): Promise<string> {
  const rows: string[][] = [];
  for (const file of files) {
    const attributes = await os.fs.attributes(file.path);
    const uid = attributes?.uid ?? 0;
    const gid = attributes?.gid ?? 0;
    const time = new Date(file.stat.mtime * 1000).toISOString().replace('T', ' ').slice(0, 16);
    rows.push([
      modeString(file.stat.mode),
      isDir(file.stat) ? '2' : '1',
      options.numeric ? String(uid) : androidName(uid),
      options.numeric ? String(gid) : androidName(gid),
      ...(options.label ? [attributes?.label ?? '?'] : []),
      String(file.stat.size),
      time,
      file.name,
    ]);
  }
  const widths = rows.reduce<number[]>(
    (w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)),
    [],
  );
  const sizeColumn = options.label ? 5 : 4;
  return rows
    .map((row) => {
      const cells = row.map((cell, i) => {
        if (i === row.length - 1 || i === row.length - 2) return cell;
        const width = widths[i] ?? 0;
        return i === 1 || i === sizeColumn ? cell.padStart(width) : cell.padEnd(width);
      });
      return `${cells.join(' ')}\n`;
    })
    .join('');
}

/** `ls [-ladnZ] [PATH...]`: names, or long lines with owner, group and (-Z) SELinux label. */
export const ls: Command = async ({ args, os }) => {
  const { flags, operands } = splitFlags(args);
  const numeric = flags.has('n');
  const long = flags.has('l') || numeric;
  const label = flags.has('Z');
  const render = async (files: ListedFile[]): Promise<string> => {
    if (long) return longLines(files, os, { numeric, label });
    const lines: string[] = [];
    for (const file of files) {
      const context = label ? `${(await os.fs.attributes(file.path))?.label ?? '?'} ` : '';
      lines.push(`${context}${file.name}\n`);
    }
    return lines.join('');
  };
  return eachPath('ls', operands.length === 0 ? ['/'] : operands, async (path) => {
    const stat = await os.fs.stat(path);
    if (!stat) throw new DeviceFsError('ENOENT', path);
    if (!isDir(stat) || flags.has('d')) return render([{ stat, path, name: path }]);
    const entries = await os.fs.list(path);
    return render(
      entries
        .filter((e) => flags.has('a') || !e.name.startsWith('.'))
        .map((e) => ({ stat: e, path: posix.join(path, e.name), name: e.name })),
    );
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

/**
 * `cp SRC... DEST`, as toybox copies: mode kept, time now, owner the copier's. With several
 * sources DEST must be a directory; a directory source needs -r (which the lab does not do).
 * Messages are toybox's: `bad 'SRC'`, `'DEST' not directory`, `Skipped dir`, `DEST: reason`.
 */
export const cp: Command = async ({ args, os }) => {
  const { flags, operands } = splitFlags(args);
  if (operands.length < 2) return fail('cp: Need 2 arguments');
  const target = operands.at(-1) ?? '';
  const sources = operands.slice(0, -1);
  const targetStat = await os.fs.stat(target);
  const intoDir = targetStat !== undefined && isDir(targetStat);
  if (sources.length > 1 && !intoDir) return fail(`cp: '${target}' not directory`);
  const errors: string[] = [];
  for (const rawSource of sources) {
    const source = rawSource.length > 1 ? rawSource.replace(/\/+$/, '') : rawSource;
    const destination = intoDir ? `${target}/${posix.basename(source)}` : target;
    const stat = await os.fs.stat(source).catch(() => undefined);
    if (!stat) {
      errors.push(`cp: bad '${source}': No such file or directory\n`);
      continue;
    }
    if (isDir(stat)) {
      errors.push(
        flags.has('r') || flags.has('R') || flags.has('a')
          ? `cp: ${destination}: Operation not supported\n`
          : `cp: Skipped dir '${destination}'\n`,
      );
      continue;
    }
    try {
      await os.fs.write(
        destination,
        await os.fs.read(source),
        stat.mode & 0o7777,
        Math.floor(os.clock.now() / 1000),
      );
    } catch (error) {
      if (!isDeviceFsError(error)) throw error;
      errors.push(`cp: ${destination}: ${error.reason}\n`);
    }
  }
  return { stderr: errors.join(''), exitCode: errors.length > 0 ? 1 : 0 };
};
