import { isSettingsNamespace } from '../settings.ts';
import { fail, ok, type Command } from '../shell/types.ts';

/** `settings [--user N] get|put|delete|list <namespace> [key] [value]`. */
export const settings: Command = async ({ args, os }) => {
  const rest = [...args];
  if (rest[0] === '--user') rest.splice(0, 2);
  const [verb, ns, key, value] = rest;
  if (ns === undefined || !isSettingsNamespace(ns)) return fail(`Invalid namespace '${ns ?? ''}'`);
  switch (verb) {
    case 'get':
      if (key === undefined) return fail('Invalid arguments: key required');
      return ok(`${os.settings.get(ns, key) ?? 'null'}\n`);
    case 'put':
      if (key === undefined || value === undefined)
        return fail('Invalid arguments: put requires key and value');
      os.settings.put(ns, key, value);
      return ok();
    case 'delete':
      if (key === undefined) return fail('Invalid arguments: key required');
      return ok(`Deleted ${os.settings.delete(ns, key) ? 1 : 0} rows\n`);
    case 'list':
      return ok(
        os.settings
          .list(ns)
          .map(([k, v]) => `${k}=${v}\n`)
          .join(''),
      );
    default:
      return fail(`Invalid command: ${verb ?? ''}`);
  }
};
