import { ImageStore, intakeImage } from '../src/intake/index.ts';
import { describeError } from '../src/errors.ts';
import { readdirSync } from 'node:fs';
const dir = process.argv[2]!;
for (const f of readdirSync(dir)) {
  if (f.startsWith('data-') || f.startsWith('d-') || f.endsWith('.staging')) continue;
  try { await intakeImage(`${dir}/${f}`, new ImageStore('/tmp/proto/m-data')); console.log(f, 'ACCEPTED'); }
  catch (e) { console.log(f.padEnd(20), describeError(e)); }
}
