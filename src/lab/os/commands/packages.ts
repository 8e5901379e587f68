import type { LabOs } from '../lab-os.ts';
import type { PackageInfo } from '../packages.ts';
import { fail, ok, type Command, type CommandResult } from '../shell/types.ts';

function listPackages(os: LabOs, args: string[]): CommandResult {
  const flags = new Set(args.filter((a) => a.startsWith('-')).flatMap((a) => [...a.slice(1)]));
  const filter = args.find((a) => !a.startsWith('-'));
  const rows = os.packages
    .all()
    .filter((p) => !flags.has('s') || p.system)
    .filter((p) => !flags.has('3') || !p.system)
    .filter((p) => filter === undefined || p.name.includes(filter))
    .map(
      (p) =>
        `package:${flags.has('f') ? `${p.apkPath}=` : ''}${p.name}${flags.has('U') ? ` uid:${p.uid}` : ''}\n`,
    );
  return ok(rows.join(''));
}

/** `pm` and `cmd package`. */
export async function packageManager(os: LabOs, args: string[]): Promise<CommandResult> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'list':
      if (rest[0] === 'packages') return listPackages(os, rest.slice(1));
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
      return ok('Failure [INSTALL_FAILED_INVALID_APK: the lab phone does not install packages]\n');
    default:
      return fail(`Unknown command: ${sub ?? ''}`, 255);
  }
}

export const pm: Command = async ({ args, os }) => packageManager(os, args);

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
