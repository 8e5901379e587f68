/** Builds every agent set into outDir (default hooks/dist); resolves with { name: path }. */
export function buildHooks(outDir?: string): Promise<Record<string, string>>;
