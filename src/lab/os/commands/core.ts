import { formatUid } from '../packages.ts';
import { parseDateSetting, strftime, toyboxDate } from '../time-format.ts';
import { fail, ok, type Command } from '../shell/types.ts';

export const echo: Command = async ({ args }) => {
  let newline = true;
  let rest = args;
  if (rest[0] === '-n') {
    newline = false;
    rest = rest.slice(1);
  }
  return ok(`${rest.join(' ')}${newline ? '\n' : ''}`);
};

export const trueCommand: Command = async () => ok();
export const falseCommand: Command = async () => ({ exitCode: 1 });

export const id: Command = async ({ root }) =>
  ok(
    root
      ? 'uid=0(root) gid=0(root) groups=0(root),1004(input),1007(log),1011(adb),1015(sdcard_rw),1028(sdcard_r),3001(net_bt_admin),3002(net_bt),3003(inet),3006(net_bw_stats),3009(readproc) context=u:r:su:s0\n'
      : 'uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),1015(sdcard_rw),1028(sdcard_r),3001(net_bt_admin),3002(net_bt),3003(inet),3006(net_bw_stats),3009(readproc) context=u:r:shell:s0\n',
  );

export const whoami: Command = async ({ root }) => ok(root ? 'root\n' : 'shell\n');

export const sh: Command = async ({ args, stdin, runLine }) => {
  if (args[0] === '-c') {
    const result = await runLine(args[1] ?? '', stdin);
    return { stdout: result.stdout ?? '', stderr: result.stderr ?? '', exitCode: result.exitCode };
  }
  // `sh` with a script on stdin, as `adb shell < script` gives it.
  const result = await runLine(stdin.toString('utf8'), Buffer.alloc(0));
  return { stdout: result.stdout ?? '', stderr: result.stderr ?? '', exitCode: result.exitCode };
};

export const getprop: Command = async ({ args, os }) => {
  const [key, fallback] = args;
  if (key === undefined) return ok(os.props.listing());
  return ok(`${os.props.get(key) ?? fallback ?? ''}\n`);
};

export const setprop: Command = async ({ args, os, root }) => {
  const [key, value] = args;
  if (key === undefined || value === undefined) return fail('usage: setprop NAME VALUE');
  if (key.startsWith('ro.') && os.props.get(key) !== undefined)
    return fail(`setprop: failed to set property '${key}' to '${value}'`);
  if (
    !root &&
    !key.startsWith('debug.') &&
    !key.startsWith('persist.') &&
    !key.startsWith('log.')
  ) {
    return fail(`setprop: failed to set property '${key}' to '${value}'`);
  }
  os.props.set(key, value);
  return ok();
};

export const date: Command = async ({ args, os, root }) => {
  let format: string | undefined;
  let shown: string | undefined;
  let setting: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '-u') continue;
    if (arg === '-s') setting = args[++i];
    else if (arg === '-d') shown = args[++i];
    else if (arg.startsWith('+')) format = arg.slice(1);
    else setting = arg;
  }
  if (setting !== undefined) {
    const ms = parseDateSetting(setting, os.clock.now());
    if (ms === undefined) return fail(`date: bad date '${setting}'`);
    if (!root) return fail('date: cannot set date: Operation not permitted');
    os.clock.set(ms);
  }
  let when = os.clock.now();
  if (shown !== undefined) {
    const ms = parseDateSetting(shown, when);
    if (ms === undefined) return fail(`date: bad date '${shown}'`);
    when = ms;
  }
  return ok(`${format === undefined ? toyboxDate(when) : strftime(format, when)}\n`);
};

export const ps: Command = async ({ os }) => {
  const rows = [
    { user: 'root', pid: 1, ppid: 0, name: 'init' },
    { user: 'root', pid: 212, ppid: 1, name: 'adbd' },
    { user: 'system', pid: 640, ppid: 1, name: 'system_server' },
    ...os.processes().map((p) => ({
      user: formatUid(p.uid)
        .replace(/^u0a/, 'u0_a')
        .replace(/^1000$/, 'system'),
      pid: p.pid,
      ppid: 300,
      name: p.name,
    })),
  ];
  const header = 'USER           PID  PPID     VSZ    RSS WCHAN            ADDR S NAME\n';
  return ok(
    header +
      rows
        .map(
          (r) =>
            `${r.user.padEnd(10)} ${String(r.pid).padStart(8)} ${String(r.ppid).padStart(5)} 1234567  65432 0                   0 S ${r.name}\n`,
        )
        .join(''),
  );
};

export const pidof: Command = async ({ args, os }) => {
  const pids = args
    .map((name) => os.processes().find((p) => p.name === name)?.pid)
    .filter((p) => p !== undefined);
  return pids.length === 0 ? { exitCode: 1 } : ok(`${pids.join(' ')}\n`);
};

export const uname: Command = async ({ args, os }) => {
  if (args.includes('-m'))
    return ok(`${os.image.build.abi.startsWith('arm') ? 'aarch64' : 'x86_64'}\n`);
  if (args.includes('-r')) return ok('3.18.91+\n');
  if (args.includes('-a'))
    return ok('Linux localhost 3.18.91+ #1 SMP PREEMPT Tue Jan 9 20:30:51 UTC 2018 x86_64\n');
  return ok('Linux\n');
};

export const sleep: Command = async ({ args }) => {
  const seconds = Number(args[0] ?? 0);
  // Bounded so a stray `sleep 3600` cannot hold an adb stream for an hour.
  await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(seconds, 0), 10) * 1000));
  return ok();
};
