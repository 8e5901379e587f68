/**
 * frida-node is an optional dependency: its install downloads a prebuilt binary, which fails
 * where there is no route to its host. It is imported only when a run wants it, and its absence
 * is a reason in the report, never a crash.
 */
export type FridaModule = Record<string, unknown>;

export type FridaLoad = { ok: true; frida: FridaModule } | { ok: false; reason: string };

export async function loadFrida(moduleName = 'frida'): Promise<FridaLoad> {
  try {
    const frida = (await import(moduleName)) as FridaModule;
    return { ok: true, frida };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ERR_MODULE_NOT_FOUND'
        ? 'the frida module is not installed (npm optional dependency "frida", whose install needs its prebuilt binary)'
        : `the frida module failed to load: ${(error as Error).message.split('\n')[0] ?? 'unknown error'}`;
    return { ok: false, reason };
  }
}
