import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeExt4 } from '../fixtures/intake/inputs.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const LAB_MAIN = join(REPO, 'src/lab/main.ts');

/** What the fake emulator wrote down about how it was started. */
export interface EmulatorRecord {
  argv: string[];
  env: Record<string, string>;
  configIni: string;
  pointerIni: string;
  pid: number;
  /** How the phone behind the fake emulator ended, one line per event; empty while it runs. */
  ended: string;
  /** Every adb command line run through makeRecordingAdb, in order. */
  adb: string[];
  /** The inode of the network namespace the emulator ran in (`stat -L /proc/self/ns/net`). */
  netnsInode: number;
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/**
 * An SDK whose `emulator/emulator` is a shell script standing in for the real binary at the
 * lowest layer: it records its argv, environment, AVD files and network namespace, then either
 * becomes a lab phone on the ports, proxy (when given one) and AVD it was given (so the launcher's real adb, console,
 * readiness and teardown paths run) and records how that phone ended (`exit <code>`, after
 * `SIGTERM` when it was signalled), or fails the way the emulator does without KVM.
 */
export async function makeFakeSdk(
  root: string,
  options: { behaviour: 'lab-phone' | 'fail'; authTokenFile: string },
): Promise<{ androidHome: string; recordDir: string }> {
  const androidHome = join(root, 'sdk');
  const recordDir = join(root, 'record');
  await mkdir(join(androidHome, 'emulator'), { recursive: true });
  await mkdir(recordDir, { recursive: true });
  const record = shellQuote(recordDir);
  const run =
    options.behaviour === 'fail'
      ? `echo 'ERROR   | x86_64 emulation currently requires hardware acceleration!' >&2\nexit 1`
      : [
          `mkdir -p "$ANDROID_AVD_HOME/lab-work"`,
          `cd ${shellQuote(REPO)}`,
          // Not exec: the script stays the parent so it can record how the phone ended.
          `trap 'echo SIGTERM >> ${record}/ended; kill -TERM "$child" 2>/dev/null' TERM`,
          `${shellQuote(process.execPath)} --import tsx ${shellQuote(LAB_MAIN)} \\`,
          `  --image-dir "$sysdir" --console-port "\${ports%,*}" --adb-port "\${ports#*,}" \\`,
          // Uncaged the phone uses the proxy and announces itself; caged (no -http-proxy) it
          // can do neither, as the emulator's own announcement cannot leave a cage.
          `  \${proxy:+--adb-server-port "$ANDROID_ADB_SERVER_PORT" --http-proxy "\${proxy#http://}"} \\`,
          `  --dns-server "$dns:53" --work-dir "$ANDROID_AVD_HOME/lab-work" --avd-name "$avd" \\`,
          `  --auth-token-file ${shellQuote(options.authTokenFile)} \${phone:+--phone-number "$phone"} &`,
          'child=$!',
          'wait "$child"; status=$?',
          'while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done',
          `echo "exit $status" >> ${record}/ended`,
          'exit "$status"',
        ].join('\n');
  const script = `#!/bin/sh
printf '%s\\n' "$@" > ${record}/argv
printf 'ANDROID_HOME=%s\\nANDROID_SDK_ROOT=%s\\nANDROID_AVD_HOME=%s\\nANDROID_ADB_SERVER_PORT=%s\\n' \\
  "$ANDROID_HOME" "$ANDROID_SDK_ROOT" "$ANDROID_AVD_HOME" "$ANDROID_ADB_SERVER_PORT" > ${record}/env
echo $$ > ${record}/pid
stat -L -c %i /proc/self/ns/net > ${record}/netns
phone=
proxy=
while [ $# -gt 0 ]; do
  case "$1" in
    -avd) avd=$2; shift ;;
    -sysdir) sysdir=$2; shift ;;
    -ports) ports=$2; shift ;;
    -http-proxy) proxy=$2; shift ;;
    -dns-server) dns=$2; shift ;;
    -phone-number) phone=$2; shift ;;
  esac
  shift
done
cp "$ANDROID_AVD_HOME/$avd.ini" ${record}/pointer.ini
cp "$ANDROID_AVD_HOME/$avd.avd/config.ini" ${record}/config.ini
${run}
`;
  const binary = join(androidHome, 'emulator', 'emulator');
  await writeFile(binary, script);
  await chmod(binary, 0o755);
  return { androidHome, recordDir };
}

/** The real adb behind a script that appends each argv to `<recordDir>/adb` first. */
export async function makeRecordingAdb(recordDir: string): Promise<string> {
  const path = join(recordDir, 'adb-recording');
  await writeFile(
    path,
    `#!/bin/sh\necho "$*" >> ${shellQuote(join(recordDir, 'adb'))}\nexec adb "$@"\n`,
  );
  await chmod(path, 0o755);
  return path;
}

export async function readEmulatorRecord(recordDir: string): Promise<EmulatorRecord> {
  const text = (name: string) => readFile(join(recordDir, name), 'utf8');
  const env = Object.fromEntries(
    (await text('env'))
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return {
    argv: (await text('argv')).replace(/\n$/, '').split('\n'),
    env,
    configIni: await text('config.ini'),
    pointerIni: await text('pointer.ini'),
    pid: Number((await text('pid')).trim()),
    ended: await text('ended').catch(() => ''),
    adb: (await text('adb').catch(() => '')).split('\n').filter(Boolean),
    netnsInode: Number((await text('netns')).trim()),
  };
}

/**
 * An emulator system-image directory whose system.img is a lab image (so the fake emulator's
 * lab phone can boot it), with the other files an SDK image has.
 */
export async function makeLabSystemImage(root: string, abi = 'x86_64'): Promise<string> {
  const imageDir = join(root, 'image');
  await mkdir(imageDir, { recursive: true });
  const labImage = await readFile(join(REPO, 'images/lab/adups-2016.json'));
  const systemImg = await makeExt4(root, 'system.img', {
    'build.prop': 'ro.build.display.id=SDK_LAUNCHER_TEST\n',
    'etc/canarytrap/lab-image.json': labImage,
  });
  await rename(systemImg, join(imageDir, 'system.img'));
  for (const file of ['vendor.img', 'ramdisk.img', 'kernel-ranchu']) {
    await writeFile(join(imageDir, file), '');
  }
  await writeFile(join(imageDir, 'build.prop'), 'ro.build.display.id=SDK_LAUNCHER_TEST\n');
  await writeFile(
    join(imageDir, 'source.properties'),
    `Pkg.Desc=Test image\nAndroidVersion.ApiLevel=30\nSystemImage.Abi=${abi}\nSystemImage.TagId=default\n`,
  );
  return imageDir;
}
