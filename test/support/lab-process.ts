import { mkdir, writeFile } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { canBind } from './leftovers.ts';

/**
 * What tests that run the lab phone as its own process share: free ports, a small system image,
 * and waiting for a line on a child's stdout.
 */

/**
 * A free loopback TCP port; `even` also needs the next one free (a console + adb pair). Linux
 * hands out odd ports for bind(0), so ports are picked at random and tried.
 */
export async function freeLoopbackPort(even = false): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = even ? 20_000 + 2 * randomInt(15_000) : 20_000 + randomInt(30_000);
    if ((await canBind(port)) && (!even || (await canBind(port + 1)))) return port;
  }
  throw new Error('no free loopback port found');
}

/** A raw ext4 system.img holding `files` (paths inside /system), in `<dir>/image`. */
export async function buildSystemImage(
  dir: string,
  files: Record<string, string | Buffer>,
): Promise<string> {
  const stage = join(dir, 'stage');
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(stage, path, '..'), { recursive: true });
    await writeFile(join(stage, path), content);
  }
  const imageDir = join(dir, 'image');
  await mkdir(imageDir, { recursive: true });
  await execa('mke2fs', ['-q', '-t', 'ext4', '-d', stage, join(imageDir, 'system.img'), '8M'], {
    timeout: 30_000,
  });
  return imageDir;
}

/** Resolves with the first stdout line of `child` matching `pattern`; rejects if it exits first. */
export function waitForLine(
  child: ResultPromise,
  pattern: RegExp,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString();
      const line = buffered
        .split('\n')
        .slice(0, -1)
        .find((l) => pattern.test(l));
      if (line !== undefined) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(line);
      }
    };
    child.stdout?.on('data', onData);
    void child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited with ${String(code)} before printing ${pattern}`));
    });
  });
}
