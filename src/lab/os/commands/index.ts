import type { Command } from '../shell/types.ts';
import { content } from './content.ts';
import * as core from './core.ts';
import * as files from './files.ts';
import { mount, umount } from './mount.ts';
import { chcon, chown } from './ownership.ts';
import { pm } from './packages.ts';
import * as activity from './activity.ts';
import { cmd, dumpsys, service } from './services.ts';
import { settings } from './settings.ts';

/** Every command the lab phone's shell knows, by name; `which` answers from the same table. */
export function createCommands(): ReadonlyMap<string, Command> {
  const commands = new Map<string, Command>([
    ['echo', core.echo],
    ['true', core.trueCommand],
    ['false', core.falseCommand],
    ['id', core.id],
    ['whoami', core.whoami],
    ['sh', core.sh],
    ['getprop', core.getprop],
    ['setprop', core.setprop],
    ['date', core.date],
    ['ps', core.ps],
    ['pidof', core.pidof],
    ['uname', core.uname],
    ['sleep', core.sleep],
    ['cat', files.cat],
    ['cp', files.cp],
    ['ls', files.ls],
    ['mkdir', files.mkdir],
    ['rm', files.rm],
    ['chmod', files.chmod],
    ['touch', files.touch],
    ['mount', mount],
    ['umount', umount],
    ['chown', chown],
    ['chcon', chcon],
    ['grep', files.grep],
    ['basename', files.basenameCommand],
    ['content', content],
    ['pm', pm],
    ['settings', settings],
    ['dumpsys', dumpsys],
    ['cmd', cmd],
    ['am', activity.am],
    ['monkey', activity.monkey],
    ['input', activity.input],
    ['wm', activity.wm],
    ['screencap', activity.screencap],
    ['logcat', activity.logcat],
    ['export', activity.exportCommand],
    ['exec', activity.exec],
    ['appops', activity.appops],
    ['uiautomator', activity.uiautomator],
    ['ime', activity.ime],
    ['service', service],
  ]);
  commands.set('which', async ({ args }) => {
    const found = args.filter((name) => commands.has(name));
    return {
      stdout: found.map((name) => `/system/bin/${name}\n`).join(''),
      exitCode: found.length === args.length ? 0 : 1,
    };
  });
  return commands;
}
