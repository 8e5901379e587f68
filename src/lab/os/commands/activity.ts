import type { LabOs } from '../lab-os.ts';
import { fail, ok, type Command, type CommandResult } from '../shell/types.ts';
import { DISPLAY } from '../ui/layout.ts';
import { pageSource } from '../ui/page-source.ts';
import { qualifyActivity, shortComponent } from '../ui/screens.ts';
import { UIA2_SERVER_PACKAGE } from '../uia2/instrumentation.ts';

/** Options of `am start` that take a value (so the value is not taken for the component). */
const START_VALUE_OPTIONS = new Set([
  '-a',
  '-c',
  '-d',
  '-t',
  '-f',
  '-n',
  '-p',
  '-e',
  '--es',
  '--ez',
  '--ei',
  '--el',
  '--ef',
  '--eu',
  '--ecn',
  '--user',
  '-P',
  '--start-profiler',
  '--sampling',
  '-R',
  '--display',
  '--windowingMode',
  '--activityType',
]);
/** Options that take two values (`--es key value`). */
const START_PAIR_OPTIONS = new Set(['-e', '--es', '--ez', '--ei', '--el', '--ef', '--eu', '--ecn']);

function option(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

/** `am start`: brings the component's screen to the front, answering as the real tool does. */
function start(os: LabOs, args: string[]): CommandResult {
  let component = option(args, '-n');
  for (let i = 0; i < args.length && component === undefined; i++) {
    const arg = args[i] ?? '';
    if (START_PAIR_OPTIONS.has(arg)) i += 2;
    else if (START_VALUE_OPTIONS.has(arg)) i++;
    else if (!arg.startsWith('-') && arg.includes('/')) component = arg;
  }
  const action = option(args, '-a');
  const category = option(args, '-c');
  const flags = option(args, '-f');
  const intent = [
    action === undefined ? undefined : `act=${action}`,
    category === undefined ? undefined : `cat=[${category}]`,
    flags === undefined ? undefined : `flg=${flags}`,
    component === undefined ? undefined : `cmp=${component}`,
  ]
    .filter((p) => p !== undefined)
    .join(' ');
  const starting = `Starting: Intent { ${intent} }\n`;
  if (component === undefined) {
    return {
      stdout: starting,
      stderr: `Error: Activity not started, unable to resolve Intent { ${intent} }\n`,
      exitCode: 0,
    };
  }
  const [pkg = '', cls = ''] = component.split('/');
  const activity = qualifyActivity(pkg, cls);
  const missing = `Error type 3\nError: Activity class {${pkg}/${activity}} does not exist.\n`;
  if (os.packages.get(pkg) === undefined) return { stdout: starting, stderr: missing, exitCode: 0 };
  // Installed packages the image shows nothing for (the driver's helper apps) start and finish.
  const shown = os.ui.startApp(pkg, activity);
  if (!shown) os.launchInstalledApp(pkg);
  const waited = args.includes('-W')
    ? `Status: ok\nLaunchState: ${shown ? 'COLD' : 'WARM'}\nActivity: ${shortComponent(pkg, activity)}\nTotalTime: 212\nWaitTime: 215\nComplete\n`
    : '';
  return ok(starting + waited);
}

export const am: Command = async ({ args, os, signal, stream }) => {
  const [verb, ...rest] = args;
  switch (verb) {
    case 'broadcast': {
      const action = option(rest, '-a');
      const pkg = option(rest, '-p');
      const component = option(rest, '-n');
      const parts = [
        action === undefined ? undefined : `act=${action}`,
        'flg=0x400000',
        pkg === undefined ? undefined : `pkg=${pkg}`,
        component === undefined ? undefined : `cmp=${component}`,
      ].filter((p) => p !== undefined);
      return ok(`Broadcasting: Intent { ${parts.join(' ')} }\nBroadcast completed: result=0\n`);
    }
    case 'force-stop':
    case 'kill': {
      const pkg = rest.filter((a) => !a.startsWith('-') && !/^\d+$/.test(a)).at(-1);
      if (pkg !== undefined) {
        os.instrumentations.forceStop(pkg);
        if (verb === 'force-stop') os.ui.forceStop(pkg);
        os.endProcess(pkg);
      }
      return ok();
    }
    case 'kill-all':
      return ok();
    case 'start':
    case 'start-activity':
      return start(os, rest);
    case 'startservice':
    case 'start-service':
    case 'start-foreground-service':
      return ok(`Starting service: Intent { ${rest.join(' ')} }\n`);
    case 'instrument': {
      const extras = new Map<string, string>();
      let component: string | undefined;
      for (let i = 0; i < rest.length; i++) {
        const arg = rest[i] ?? '';
        if (arg === '-e') {
          extras.set(rest[i + 1] ?? '', rest[i + 2] ?? '');
          i += 2;
        } else if (['-p', '--user', '--abi', '--no-hidden-api-checks'].includes(arg)) {
          if (arg !== '--no-hidden-api-checks') i++;
        } else if (!arg.startsWith('-')) component = arg;
      }
      if (component === undefined) return fail('Error: no instrumentation component given', 255);
      return os.instrumentations.run(
        { component, extras, wait: rest.includes('-w') },
        signal,
        stream,
      );
    }
    case 'get-current-user':
      return ok('0\n');
    default:
      return fail(`Error: Unknown command: ${verb ?? ''}`, 255);
  }
};

/** `monkey -p <pkg> -c android.intent.category.LAUNCHER 1`: starts the app's launcher activity. */
export const monkey: Command = async ({ args, os }) => {
  const pkg = option(args, '-p');
  const activity = pkg === undefined ? undefined : os.packages.get(pkg)?.launcherActivity;
  if (pkg === undefined || activity === undefined) {
    return {
      stdout: '  bash arg: -p\n',
      stderr: '** No activities found to run, monkey aborted.\n',
      exitCode: 252,
    };
  }
  os.ui.startApp(pkg, activity);
  return ok(
    `  bash arg: -p\n  bash arg: ${pkg}\n  bash arg: -c\n  bash arg: android.intent.category.LAUNCHER\n  bash arg: 1\nargs: [-p, ${pkg}, -c, android.intent.category.LAUNCHER, 1]\n arg: "-p"\n arg: "${pkg}"\n arg: "-c"\n arg: "android.intent.category.LAUNCHER"\n arg: "1"\nEvents injected: 1\n## Network stats: elapsed time=12ms (0ms mobile, 0ms wifi, 12ms not connected)\n`,
  );
};

const KEYCODES: Record<string, number> = { KEYCODE_HOME: 3, KEYCODE_BACK: 4 };

/** `input keyevent <code>` (home, back) and `input tap <x> <y>` on the screen model. */
export const input: Command = async ({ args, os }) => {
  const [verb, ...rest] = args.filter((a) => !['touchscreen', 'keyboard'].includes(a));
  if (verb === 'keyevent') {
    for (const key of rest.filter((a) => !a.startsWith('--'))) {
      const code = KEYCODES[key] ?? Number(key);
      if (code === 4) os.ui.back();
      else if (code === 3) os.ui.home();
    }
    return ok();
  }
  if (verb === 'tap') {
    const [x, y] = rest.map(Number);
    if (x === undefined || y === undefined || Number.isNaN(x) || Number.isNaN(y))
      return fail('Error: tap needs <x> <y>', 1);
    os.tapAt(x, y);
    return ok();
  }
  if (verb === 'swipe' || verb === 'text') return ok();
  return fail(`Error: Unknown command: ${verb ?? ''}`, 1);
};

/** `wm size` / `wm density`. */
export const wm: Command = async ({ args }) => {
  if (args[0] === 'size') return ok(`Physical size: ${DISPLAY.width}x${DISPLAY.height}\n`);
  if (args[0] === 'density') return ok(`Physical density: ${DISPLAY.density}\n`);
  if (args[0] === 'dismiss-keyguard') return ok();
  return fail(`Unknown command: ${args[0] ?? ''}`, 255);
};

/** `screencap -p [file]`: the screen as PNG, on stdout or into a device file. */
export const screencap: Command = async ({ args, os }) => {
  const png = await os.screenshot();
  const file = args.find((a) => !a.startsWith('-'));
  if (file === undefined) return { stdout: png, exitCode: 0 };
  await os.fs.write(file, png, 0o100644, Math.floor(Date.now() / 1000));
  return ok();
};

/**
 * `logcat`: `-c` clears, `-d` dumps and exits; without them it streams until the host closes
 * the stream, as the driver's log capture expects. The lab phone's own log is a few lines of
 * what its framework and the UiAutomator2 server would write.
 */
export const logcat: Command = async ({ args, os, signal, stream }) => {
  if (args.includes('-c')) return ok();
  const stamp = new Date(os.clock.now()).toISOString().slice(5, 23).replace('T', ' ');
  const lines = [
    '--------- beginning of main',
    `${stamp}   640   640 I ActivityManager: Displayed ${shortComponent(os.ui.current().package, os.ui.current().activity)}`,
    ...(os.instrumentations.isRunning(UIA2_SERVER_PACKAGE)
      ? [`${stamp}  1800  1800 I appium  : AppiumServlet: UiAutomator2 Server is listening`]
      : []),
  ].join('\n');
  if (args.includes('-d')) return ok(`${lines}\n`);
  if (stream !== undefined) await stream(`${lines}\n`);
  if (!signal.aborted) {
    await new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => resolve(), { once: true });
      os.onClose(resolve);
    });
  }
  return ok(stream === undefined ? `${lines}\n` : '');
};

/** `uiautomator dump [file]`: the window hierarchy as XML into a device file. */
export const uiautomator: Command = async ({ args, os }) => {
  if (args[0] !== 'dump') return fail(`Unknown command: ${args[0] ?? ''}`, 1);
  const file = args.slice(1).find((a) => !a.startsWith('-')) ?? '/sdcard/window_dump.xml';
  await os.fs.write(
    file,
    Buffer.from(pageSource(os.uiLayout())),
    0o100644,
    Math.floor(Date.now() / 1000),
  );
  // Sic: the real tool's spelling.
  return ok(`UI hierchary dumped to: ${file}\n`);
};

/** `export NAME=value` (adb's logcat wrapper sets ANDROID_LOG_TAGS): the lab shell has no env. */
export const exportCommand: Command = async () => ok();

/** `exec cmd args...`: runs the command in place of the shell. */
export const exec: Command = async ({ args, stdin, runLine }) => {
  const line = args
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`))
    .join(' ');
  const result = await runLine(line, stdin);
  return { stdout: result.stdout ?? '', stderr: result.stderr ?? '', exitCode: result.exitCode };
};

/** `appops set|get`: app-op modes are accepted; nothing in the lab phone checks them. */
export const appops: Command = async ({ args }) =>
  args[0] === 'set' || args[0] === 'reset' ? ok() : ok('No operations.\n');

/** `ime list|enable|set|reset`: the emulator's stock keyboard, and nothing to switch to. */
export const ime: Command = async ({ args }) => {
  const keyboard = 'com.android.inputmethod.latin/.LatinIME';
  if (args[0] === 'list') return ok(`${keyboard}\n`);
  if (args[0] === 'reset') return ok(`Reset input method to default: ${keyboard}\n`);
  return ok();
};
