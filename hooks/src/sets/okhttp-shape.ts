import type { AgentContext } from '../context.ts';
import type { JavaWrapper } from '../frida.ts';
import { callMethod, fieldValue, observe, tryUse } from '../java.ts';

/** R8 names: every segment of the class name short (`a.b.c`, `o.ᵢ`). */
function looksObfuscated(className: string): boolean {
  return className.split('.').every((segment) => segment.length <= 3);
}

interface RequestShape {
  className: string;
  method: string;
  url: string;
  headers: string;
}

/**
 * okhttp3.Request after R8: names are gone, the shape is not — one String (the method), one
 * Map (the tags), and two or three fields of other classes from the same package (url, headers,
 * body, cache control). toString survives renaming, and HttpUrl's is the URL, Headers' the lines.
 */
export function requestShape(context: AgentContext, className: string): RequestShape | undefined {
  const cls = tryUse(context.java, className);
  const classObject = cls?.['class'] as JavaWrapper | undefined;
  if (!classObject) return undefined;
  const fields = Array.from(
    callMethod(classObject, 'getDeclaredFields') as ArrayLike<JavaWrapper>,
    (field) => ({
      name: String(callMethod(field, 'getName')),
      type: String(callMethod(callMethod(field, 'getType') as JavaWrapper, 'getName')),
    }),
  );
  const strings = fields.filter((f) => f.type === 'java.lang.String');
  const maps = fields.filter((f) => f.type === 'java.util.Map');
  const pkg = className.slice(0, className.lastIndexOf('.') + 1);
  const siblings = fields.filter(
    (f) => f.type.startsWith(pkg) && !f.type.slice(pkg.length).includes('.'),
  );
  if (strings.length !== 1 || maps.length !== 1 || siblings.length < 3 || siblings.length > 4)
    return undefined;
  if (fields.length !== strings.length + maps.length + siblings.length) return undefined;
  // Field order in the class file follows the source: url, method, headers, body(, tags, cache).
  const [url, headers] = siblings;
  if (!url || !headers || !strings[0]) return undefined;
  return { className, method: strings[0].name, url: url.name, headers: headers.name };
}

/** `Name: value` lines, as Headers.toString prints them. */
function headerPairs(text: string): [string, string][] {
  return text
    .split('\n')
    .map((line) => line.split(': '))
    .filter((parts): parts is [string, string, ...string[]] => parts.length >= 2 && parts[0] !== '')
    .map(([name, ...rest]) => [name, rest.join(': ')]);
}

/**
 * Finds obfuscated OkHttp builds among the loaded classes and reports each Request they build.
 * Only short-named classes are inspected, which keeps the scan to the obfuscated ones.
 */
export function installObfuscatedOkHttpHooks(context: AgentContext): string[] {
  const { java } = context;
  if (!java.enumerateLoadedClassesSync) return [];
  const found: string[] = [];
  for (const className of java.enumerateLoadedClassesSync()) {
    if (!looksObfuscated(className)) continue;
    let shape: RequestShape | undefined;
    try {
      shape = requestShape(context, className);
    } catch {
      continue;
    }
    if (!shape) continue;
    const { method, url, headers } = shape;
    const hooked = observe(context.java, className, '$init', (call) => {
      const target = fieldValue(call.self, url) as JavaWrapper | null;
      const address = target ? String(callMethod(target, 'toString')) : '';
      // The shape alone could match another class; a request's URL is http(s).
      if (!/^https?:\/\//.test(address)) return;
      const headerObject = fieldValue(call.self, headers) as JavaWrapper | null;
      context.emit(
        {
          type: 'http.request',
          method: String(fieldValue(call.self, method)),
          url: address,
          headers: headerObject ? headerPairs(String(callMethod(headerObject, 'toString'))) : [],
        },
        true,
      );
    });
    if (hooked) found.push(className);
  }
  return found;
}
