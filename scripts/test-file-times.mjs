// A node:test reporter that writes, per test file, the summed duration of its top-level tests as
// JSON. scripts/run-tests.mjs prints the slowest from it, so where the suite's time goes is seen
// on every run. (The built-in reporters give durations per test but not the file a test is in.)
export default async function* fileTimes(source) {
  const seconds = new Map();
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { file, nesting, details } = event.data;
    if (!file || nesting !== 0) continue;
    seconds.set(file, (seconds.get(file) ?? 0) + (details?.duration_ms ?? 0) / 1000);
  }
  yield JSON.stringify(Object.fromEntries(seconds));
}
