import { createContext, type AgentContext, type AgentOptions } from './context.ts';
import { fridaRuntime, javaBridge } from './frida.ts';

/** One group of hooks; Java ones run inside `Java.perform`, native ones at once. */
export interface HookSet {
  name: string;
  java?: (context: AgentContext) => void;
  native?: (context: AgentContext) => void;
}

/**
 * Exposes `configure(options)` over RPC and installs the hook sets when it is called: the
 * session configures before it resumes a gated spawn, so hooks are in before the app runs, and
 * the identity to answer with is known before the first getter is hooked.
 */
export function startAgent(sets: HookSet[]): void {
  const rt = fridaRuntime();
  let installed: string[] | undefined;
  rt.rpc.exports = {
    async configure(options: AgentOptions): Promise<string[]> {
      if (installed) return installed;
      const java = await javaBridge();
      const context = createContext(java, options);
      const names: string[] = [];
      for (const set of sets) {
        if (set.native) {
          set.native(context);
          names.push(`${set.name}:native`);
        }
      }
      const javaSets = sets.filter((set) => set.java);
      if (javaSets.length > 0 && java.available !== false) {
        java.perform(() => {
          for (const set of javaSets) set.java?.(context);
        });
        names.push(...javaSets.map((set) => `${set.name}:java`));
      }
      installed = names;
      return names;
    },
  };
}
