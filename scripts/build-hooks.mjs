// Bundles the Frida agents (hooks/src/entries/*.ts) into one script each under hooks/dist/,
// with frida-java-bridge inside: Frida 17's runtime no longer carries the Java bridge.
// `npm run build:hooks`, or import { buildHooks } to build into another directory.
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entriesDir = join(root, 'hooks', 'src', 'entries');

/** Builds every agent set; resolves with { name: path } of the bundles written. */
export async function buildHooks(outDir = join(root, 'hooks', 'dist')) {
  const entries = (await readdir(entriesDir)).filter((f) => f.endsWith('.ts')).sort();
  const bundles = {};
  for (const entry of entries) {
    const name = basename(entry, '.ts');
    const outfile = join(outDir, `${name}.js`);
    await build({
      entryPoints: [join(entriesDir, entry)],
      outfile,
      bundle: true,
      // A plain script: Frida loads it as-is, and a test harness can run it in a vm context.
      format: 'iife',
      platform: 'neutral',
      target: 'es2022',
      mainFields: ['module', 'main'],
      logLevel: 'warning',
      legalComments: 'none',
    });
    bundles[name] = outfile;
  }
  return bundles;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const bundles = await buildHooks();
  for (const [name, path] of Object.entries(bundles)) console.log(`${name}: ${path}`);
}
