import { ApkInstallError, readApkManifest, registerInstalled } from '../apk-install.ts';
import { isDeviceFsError } from '../fs/errors.ts';
import type { LabOs } from '../lab-os.ts';
import type { PackageInfo } from '../packages.ts';
import { fail, ok, type Command, type CommandResult } from '../shell/types.ts';

function listPackages(os: LabOs, args: string[]): CommandResult {
  const flags = new Set<string>();
  const long = new Set<string>();
  let filter: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--user' || arg === '--uid') i++;
    else if (arg.startsWith('--')) long.add(arg);
    else if (arg.startsWith('-')) for (const f of arg.slice(1)) flags.add(f);
    else filter = arg;
  }
  const rows = os.packages
    .all()
    .filter((p) => !flags.has('s') || p.system)
    .filter((p) => !flags.has('3') || !p.system)
    .filter((p) => filter === undefined || p.name.includes(filter))
    .map(
      (p) =>
        `package:${flags.has('f') ? `${p.apkPath}=` : ''}${p.name}${long.has('--show-versioncode') ? ` versionCode:${p.versionCode}` : ''}${flags.has('U') ? ` uid:${p.uid}` : ''}\n`,
    );
  return ok(rows.join(''));
}

function listInstrumentation(os: LabOs, args: string[]): CommandResult {
  const target = args.find((a) => !a.startsWith('-'));
  const rows = os.packages
    .all()
    .filter((p) => p.instrumentation !== undefined)
    .filter((p) => target === undefined || p.instrumentation?.targetPackage === target)
    .map(
      (p) =>
        `instrumentation:${p.name}/${p.instrumentation?.name ?? ''} (target=${p.instrumentation?.targetPackage ?? ''})\n`,
    );
  return ok(rows.join(''));
}

/** Options of `pm install` that take a value. */
const INSTALL_VALUE_OPTIONS = new Set([
  '-S',
  '-i',
  '-p',
  '--user',
  '--install-location',
  '--originating-uri',
  '--referrer',
  '--abi',
  '--install-reason',
  '--pkg',
]);

/**
 * `pm install [-r] [-S size] [path]`: the APK comes on stdin (`adb install` streams it with
 * `-S`) or from a device file. Its manifest gives the package, version and instrumentation.
 */
async function install(os: LabOs, args: string[], stdin: Buffer): Promise<CommandResult> {
  let path: string | undefined;
  let size: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (INSTALL_VALUE_OPTIONS.has(arg)) {
      if (arg === '-S') size = Number(args[i + 1]);
      i++;
    } else if (!arg.startsWith('-')) path = arg;
  }
  let apk: Buffer;
  if (path !== undefined && path !== '-') {
    try {
      apk = await os.fs.read(path);
    } catch (error) {
      if (!isDeviceFsError(error)) throw error;
      return ok(`Failure [INSTALL_FAILED_INVALID_URI: ${path}: ${error.reason}]\n`);
    }
  } else {
    apk = size === undefined ? stdin : stdin.subarray(0, size);
    if (size !== undefined && stdin.length < size) {
      return ok(
        `Failure [INSTALL_FAILED_INVALID_APK: expected ${size} bytes on stdin, got ${stdin.length}]\n`,
      );
    }
  }
  try {
    const manifest = await readApkManifest(apk, os.stagingDir);
    registerInstalled(os.packages, manifest, { replace: true });
    os.logger.info(
      { package: manifest.package, versionName: manifest.versionName },
      'package installed',
    );
    return ok('Success\n');
  } catch (error) {
    if (error instanceof ApkInstallError)
      return ok(`Failure [${error.reason}: ${error.message}]\n`);
    throw error;
  }
}

/** `pm` and `cmd package`. */
export async function packageManager(
  os: LabOs,
  args: string[],
  stdin: Buffer = Buffer.alloc(0),
): Promise<CommandResult> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'list':
      if (rest[0] === 'packages') return listPackages(os, rest.slice(1));
      if (rest[0] === 'instrumentation') return listInstrumentation(os, rest.slice(1));
      return fail(`Error: unknown list type '${rest[0] ?? ''}'`);
    case 'path': {
      const info = os.packages.get(rest.find((a) => !a.startsWith('-')) ?? '');
      return info ? ok(`package:${info.apkPath}\n`) : { exitCode: 1 };
    }
    case 'grant':
    case 'revoke':
    case 'enable':
    case 'disable':
    case 'disable-user':
    case 'hide':
    case 'unhide': {
      const name = rest.filter((a) => !a.startsWith('-') && !/^\d+$/.test(a))[0] ?? '';
      if (!os.packages.get(name))
        return fail(
          `Exception occurred while executing:\njava.lang.IllegalArgumentException: Unknown package: ${name}`,
          255,
        );
      if (sub.startsWith('disable') || sub === 'enable')
        return ok(
          `Package ${name} new state: ${sub === 'enable' ? 'enabled' : sub === 'disable' ? 'disabled' : 'disabled-user'}\n`,
        );
      return ok();
    }
    case 'install':
      return install(os, rest, stdin);
    case 'uninstall': {
      const name = rest.filter((a) => !a.startsWith('-') && !/^\d+$/.test(a)).at(-1) ?? '';
      if (!os.packages.remove(name)) return ok('Failure [DELETE_FAILED_INTERNAL_ERROR]\n');
      os.instrumentations.forceStop(name);
      os.endProcess(name);
      return ok('Success\n');
    }
    case 'resolve-activity': {
      const name = rest.filter((a) => !a.startsWith('-')).at(-1) ?? '';
      const activity = os.packages.get(name)?.launcherActivity;
      if (activity === undefined) return ok('No activity found\n');
      return ok(
        rest.includes('--brief')
          ? `priority=0 preferredOrder=0 match=0x108000 specificIndex=-1 isDefault=true\n${name}/${activity}\n`
          : `${name}/${activity}\n`,
      );
    }
    default:
      return fail(`Unknown command: ${sub ?? ''}`, 255);
  }
}

export const pm: Command = async ({ args, os, stdin }) => packageManager(os, args, stdin);

export function dumpPackage(os: LabOs, info: PackageInfo): string {
  const codePath = os.packages.codePath(info);
  return [
    'Packages:',
    `  Package [${info.name}] (${((info.uid * 2654435761) >>> 0).toString(16).slice(0, 7)}):`,
    `    userId=${info.uid}`,
    ...(info.sharedUserId === undefined
      ? []
      : [
          `    sharedUser=SharedUserSetting{${(info.uid * 40503).toString(16)} ${info.sharedUserId}/${info.uid}}`,
        ]),
    `    pkg=Package{${((info.uid * 2246822519) >>> 0).toString(16).slice(0, 7)} ${info.name}}`,
    `    codePath=${codePath}`,
    `    resourcePath=${codePath}`,
    `    legacyNativeLibraryDir=${codePath}/lib`,
    `    primaryCpuAbi=null`,
    `    versionCode=${info.versionCode} minSdk=${os.image.build.sdk} targetSdk=${os.image.build.sdk}`,
    `    versionName=${info.versionName}`,
    `    flags=[ ${info.system ? 'SYSTEM ' : ''}HAS_CODE ALLOW_CLEAR_USER_DATA ALLOW_BACKUP ]`,
    `    pkgFlags=[ ${info.system ? 'SYSTEM ' : ''}HAS_CODE ALLOW_CLEAR_USER_DATA ALLOW_BACKUP ]`,
    '    requested permissions:',
    ...info.permissions.map((p) => `      ${p}`),
    '    install permissions:',
    ...info.permissions.map((p) => `      ${p}: granted=true`),
    '    User 0: ceDataInode=0 installed=true hidden=false suspended=false stopped=false notLaunched=false enabled=0',
    '',
  ].join('\n');
}
