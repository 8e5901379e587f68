import { buildLabImage, intakeImage, ImageStore } from '../src/intake/index.ts';
const store = new ImageStore('/tmp/proto/data');
for (const name of ['adups-2016', 'clean']) {
  const t = Date.now();
  const built = await buildLabImage(`images/lab/${name}.json`, '/tmp/proto/out', { cacheDir: '/tmp/proto/cache' });
  const t2 = Date.now();
  const img = await intakeImage(built.zipPath, store);
  console.log(name, t2 - t, Date.now() - t2, JSON.stringify(img.metadata, null, 1), JSON.stringify(img.inventory, null, 1));
  const again = await intakeImage(built.zipPath, store);
  console.log('reused', again.reused);
}
