import { runTool } from './tools.ts';

/**
 * The binary AndroidManifest.xml, read with `aapt dump xmltree`. Chosen over `dump badging`
 * because badging omits sharedUserId and receivers' intent filters, and over aapt2's xmltree
 * because aapt's indentation is exactly two spaces per level, so the tree parses without
 * guessing.
 */

export interface XmlElement {
  name: string;
  attrs: Map<string, string>;
  children: XmlElement[];
}

export interface ComponentInfo {
  kind: 'activity' | 'service' | 'receiver' | 'provider';
  name: string;
  exported: boolean;
  actions: string[];
}

export interface ManifestInfo {
  package: string | undefined;
  versionCode: number | undefined;
  versionName: string | undefined;
  sharedUserId: string | undefined;
  label: string | undefined;
  permissions: string[];
  components: ComponentInfo[];
}

export async function readManifest(apkPath: string, timeoutMs: number): Promise<ManifestInfo> {
  const { stdout } = await runTool('aapt', ['dump', 'xmltree', apkPath, 'AndroidManifest.xml'], {
    timeoutMs,
  });
  return manifestInfo(parseXmlTree(stdout));
}

/** Parses aapt's xmltree dump into elements; the root returned is `manifest`. */
export function parseXmlTree(dump: string): XmlElement | undefined {
  const stack: Array<{ depth: number; element: XmlElement }> = [];
  let root: XmlElement | undefined;
  for (const line of dump.split('\n')) {
    const match = /^( *)([EA]): (.*)$/.exec(line);
    if (!match) continue;
    const [, indent = '', type, rest = ''] = match;
    const depth = indent.length / 2;
    if (type === 'E') {
      const element: XmlElement = {
        name: rest.replace(/ \(line=\d+\)$/, ''),
        attrs: new Map(),
        children: [],
      };
      while (stack.length > 0 && (stack[stack.length - 1]?.depth ?? 0) >= depth) stack.pop();
      const parent = stack[stack.length - 1];
      if (parent) parent.element.children.push(element);
      else root ??= element;
      stack.push({ depth, element });
    } else {
      const owner = [...stack].reverse().find((s) => s.depth < depth);
      const attr = parseAttribute(rest);
      if (owner && attr) owner.element.attrs.set(attr[0], attr[1]);
    }
  }
  return root;
}

function parseAttribute(text: string): [string, string] | undefined {
  const match = /^([\w:.-]+?)(?:\(0x[0-9a-f]+\))?=(.*)$/s.exec(text);
  if (!match) return undefined;
  const [, name = '', value = ''] = match;
  const quoted = /^"(.*)" \(Raw: ".*"\)$/s.exec(value) ?? /^"(.*)"$/s.exec(value);
  if (quoted) return [name, quoted[1] ?? ''];
  const typed = /^\(type 0x([0-9a-f]+)\)0x([0-9a-f]+)$/.exec(value);
  if (typed) {
    const [, type = '', hex = ''] = typed;
    // 0x12 is TYPE_INT_BOOLEAN; everything else numeric is shown as its integer value.
    if (type === '12') return [name, hex === '0' ? 'false' : 'true'];
    return [name, String(Number.parseInt(hex, 16) | 0)];
  }
  return [name, value];
}

const COMPONENT_KINDS = ['activity', 'activity-alias', 'service', 'receiver', 'provider'] as const;

export function manifestInfo(root: XmlElement | undefined): ManifestInfo {
  const info: ManifestInfo = {
    package: root?.attrs.get('package'),
    versionCode: numberOrUndefined(root?.attrs.get('android:versionCode')),
    versionName: root?.attrs.get('android:versionName'),
    sharedUserId: root?.attrs.get('android:sharedUserId'),
    label: undefined,
    permissions: [],
    components: [],
  };
  if (!root || root.name !== 'manifest') return info;
  for (const child of root.children) {
    if (child.name === 'uses-permission' || child.name === 'uses-permission-sdk-23') {
      const name = child.attrs.get('android:name');
      if (name) info.permissions.push(name);
    }
    if (child.name !== 'application') continue;
    const label = child.attrs.get('android:label');
    info.label = label?.startsWith('@') ? undefined : label;
    for (const component of child.children) {
      const kind = COMPONENT_KINDS.find((k) => k === component.name);
      if (!kind) continue;
      const actions = component.children
        .filter((c) => c.name === 'intent-filter')
        .flatMap((f) =>
          f.children
            .filter((a) => a.name === 'action')
            .map((a) => a.attrs.get('android:name') ?? ''),
        )
        .filter(Boolean);
      const exportedAttr = component.attrs.get('android:exported');
      info.components.push({
        kind: kind === 'activity-alias' ? 'activity' : kind,
        name: qualify(component.attrs.get('android:name') ?? '', info.package),
        // Before API 31 a component with an intent filter is exported unless it says otherwise.
        exported: exportedAttr === undefined ? actions.length > 0 : exportedAttr === 'true',
        actions,
      });
    }
  }
  return info;
}

function qualify(name: string, pkg: string | undefined): string {
  if (name.startsWith('.') && pkg) return `${pkg}${name}`;
  if (!name.includes('.') && pkg) return `${pkg}.${name}`;
  return name;
}

function numberOrUndefined(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}
