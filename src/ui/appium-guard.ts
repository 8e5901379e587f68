/**
 * Runs the Appium server as the leader of its own process group and ends that group when the
 * worker goes away. The worker holds this process's stdin open for its whole life; when the
 * worker exits by any path, SIGKILL included, the kernel closes the pipe, stdin ends here, and
 * the group (Appium and every adb or helper it spawned) is terminated, then killed.
 *
 * Usage: node --import tsx appium-guard.ts <log file> <command> [args...]
 */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';

const GRACE_MS = 3_000;

const [logPath, command, ...args] = process.argv.slice(2);
if (!logPath || !command) {
  process.stderr.write('usage: appium-guard <log file> <command> [args...]\n');
  process.exit(2);
}

const log = openSync(logPath, 'a');
const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log] });
let stopping = false;
// The worker learns Appium's pid, its process group, to kill the group itself if this guard hangs.
if (child.pid !== undefined) process.stdout.write(`pid ${child.pid}\n`);

function signalGroup(signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already: nothing left to stop.
  }
}

function stop(): void {
  if (stopping) return;
  stopping = true;
  signalGroup('SIGTERM');
  // Appium's children may outlive Appium itself; the group is killed after the grace either way.
  setTimeout(() => {
    signalGroup('SIGKILL');
    process.exit(0);
  }, GRACE_MS).unref();
}

child.on('error', (error) => {
  process.stderr.write(`appium-guard: ${error.message}\n`);
  process.exit(127);
});
child.on('exit', (code, signal) => {
  if (stopping) {
    signalGroup('SIGKILL');
    process.exit(0);
  }
  // Appium ended on its own: take its stragglers with it and say how it ended.
  signalGroup('SIGKILL');
  process.exit(code ?? (signal ? 128 : 1));
});

process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('SIGHUP', stop);
