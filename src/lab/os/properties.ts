/**
 * System properties: the image's build.prop, then the emulator's runtime properties on top.
 * `getprop` lists them sorted, in the `[key]: [value]` format of the real tool.
 */
export class PropertyStore {
  readonly #values = new Map<string, string>();

  get(key: string): string | undefined {
    return this.#values.get(key);
  }

  set(key: string, value: string): void {
    this.#values.set(key, value);
  }

  setAll(values: Record<string, string>): void {
    for (const [key, value] of Object.entries(values)) this.#values.set(key, value);
  }

  all(): Record<string, string> {
    return Object.fromEntries(
      [...this.#values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  }

  /** The output of `getprop` with no arguments. */
  listing(): string {
    return Object.entries(this.all())
      .map(([key, value]) => `[${key}]: [${value}]\n`)
      .join('');
  }
}

/** Parses build.prop text: `key=value` lines, `#` comments, `import` lines ignored. */
export function parseBuildProp(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('import ')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    values[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return values;
}
