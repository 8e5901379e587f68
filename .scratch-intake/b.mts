import { buildLabImage } from '../src/intake/lab-build/build-lab-image.ts';
const t = Date.now();
const r = await buildLabImage('/work/main/images/lab/adups-2016.json', '/tmp/proto/out', {});
console.log(r, Date.now() - t);
