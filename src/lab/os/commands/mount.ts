import { isDeviceFsError } from '../fs/errors.ts';
import { fail, ok, type Command } from '../shell/types.ts';

interface MountArgs {
  type: string | undefined;
  options: string[];
  positional: string[];
}

/** toybox's mount options: `-t TYPE`, `-o OPT,OPT` (repeatable), `-r`/`-w`, `--OPT`. */
function parseMountArgs(args: string[]): MountArgs {
  const parsed: MountArgs = { type: undefined, options: [], positional: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '-t') parsed.type = args[++i];
    else if (arg === '-o') parsed.options.push(...(args[++i] ?? '').split(','));
    else if (arg.startsWith('-t') && arg.length > 2) parsed.type = arg.slice(2);
    else if (arg.startsWith('-o') && arg.length > 2)
      parsed.options.push(...arg.slice(2).split(','));
    else if (arg === '-r') parsed.options.push('ro');
    else if (arg === '-w') parsed.options.push('rw');
    else if (arg.startsWith('--') && arg.length > 2) parsed.options.push(arg.slice(2));
    else parsed.positional.push(arg);
  }
  return parsed;
}

/**
 * `mount` lists the mounts as toybox does (`tmpfs on /dir type tmpfs (rw,...)`);
 * `mount -o rw,remount /system` (or `/`) makes /system writable; `mount -t tmpfs [-o OPTS] tmpfs
 * DIR` mounts an empty tmpfs over DIR. Only root mounts.
 */
export const mount: Command = async ({ args, os, root }) => {
  const { type, options, positional } = parseMountArgs(args);
  if (positional.length === 0 && !options.includes('remount')) {
    return ok(
      os.fs
        .mounts()
        .filter((m) => type === undefined || m.type === type)
        .map((m) => `${m.device} on ${m.dir} type ${m.type} (${m.options})\n`)
        .join(''),
    );
  }
  if (positional.length > 2) return fail('mount: Max 2 arguments');
  if (options.includes('remount')) {
    const target = positional.at(-1);
    if (!root) return fail('mount: Permission denied');
    if (target !== '/' && target !== '/system')
      return fail(`mount: '${target ?? ''}' not in /proc/mounts`);
    // From Android 10 /system is a dm-verity protected root: an emulator started without
    // -writable-system refuses the remount, which is why prepare uses a tmpfs there.
    if (options.includes('rw') && os.image.build.sdk >= 29) {
      return fail(`mount: '/dev/block/dm-0'->'${target}': Read-only file system`);
    }
    if (options.includes('rw')) os.systemWritable = true;
    else if (options.includes('ro')) os.systemWritable = false;
    return ok();
  }
  const [device, dir] = positional;
  if (device === undefined || dir === undefined || !root)
    return fail(`mount: '${dir ?? device ?? ''}' not in fstab`);
  if (type !== 'tmpfs') {
    // Only tmpfs exists for new mounts here; the kernel answers other types with ENODEV.
    return fail(`mount: '${device}'->'${dir}': No such device`);
  }
  try {
    await os.fs.mountTmpfs(dir, options);
    return ok();
  } catch (error) {
    if (!isDeviceFsError(error)) throw error;
    return fail(`mount: '${device}'->'${dir}': ${error.reason}`);
  }
};

/** `umount DIR...`: takes a tmpfs off its directory; the partitions stay (they are busy). */
export const umount: Command = async ({ args, os, root }) => {
  const dirs = args.filter((a) => !a.startsWith('-'));
  if (dirs.length === 0) return fail('umount: Need 1 arg or -a');
  const errors: string[] = [];
  for (const dir of dirs) {
    if (!root) {
      errors.push(`umount: ${dir}: Operation not permitted\n`);
      continue;
    }
    if (os.fs.mounts().some((m) => m.dir === dir && m.type !== 'tmpfs')) {
      errors.push(`umount: ${dir}: Device or resource busy\n`);
      continue;
    }
    try {
      await os.fs.unmount(dir);
    } catch (error) {
      if (!isDeviceFsError(error)) throw error;
      errors.push(`umount: ${dir}: ${error.reason}\n`);
    }
  }
  return { stderr: errors.join(''), exitCode: errors.length > 0 ? 1 : 0 };
};
