/**
 * The UiAutomator2 page source (an XML dump of the view hierarchy) read as a flat list of nodes,
 * each knowing its parent. Only what the runner decides on is kept: ids, texts, states.
 */
export interface UiNode {
  index: number;
  parent: number | undefined;
  className: string;
  packageName: string;
  resourceId: string;
  text: string;
  contentDesc: string;
  checkable: boolean;
  checked: boolean;
  clickable: boolean;
  enabled: boolean;
}

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

function decode(text: string): string {
  return text.replaceAll(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name.startsWith('#x') || name.startsWith('#X'))
      return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(Number(name.slice(1)));
    return ENTITIES[name] ?? whole;
  });
}

const TAG = /<(\/?)([A-Za-z_][\w.$:-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
const ATTRIBUTE = /([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/** Parses a page source; anything that is not an element (declaration, comments) is skipped. */
export function parsePageSource(xml: string): UiNode[] {
  const nodes: UiNode[] = [];
  const open: number[] = [];
  for (const match of xml.matchAll(TAG)) {
    const [, closing, tag, rawAttributes, selfClosing] = match;
    if (closing) {
      open.pop();
      continue;
    }
    if (tag === 'hierarchy') {
      if (!selfClosing) open.push(-1);
      continue;
    }
    const attributes = new Map<string, string>();
    for (const a of (rawAttributes ?? '').matchAll(ATTRIBUTE)) {
      attributes.set(a[1] ?? '', decode(a[2] ?? a[3] ?? ''));
    }
    const parent = open.at(-1);
    const node: UiNode = {
      index: nodes.length,
      parent: parent === undefined || parent < 0 ? undefined : parent,
      className: attributes.get('class') ?? tag ?? '',
      packageName: attributes.get('package') ?? '',
      resourceId: attributes.get('resource-id') ?? '',
      text: attributes.get('text') ?? '',
      contentDesc: attributes.get('content-desc') ?? '',
      checkable: attributes.get('checkable') === 'true',
      checked: attributes.get('checked') === 'true',
      clickable: attributes.get('clickable') === 'true',
      enabled: attributes.get('enabled') !== 'false',
    };
    nodes.push(node);
    if (!selfClosing) open.push(node.index);
  }
  return nodes;
}

/** The package in the foreground: the first node's, as UiAutomator2 dumps the active window first. */
export function foregroundPackage(nodes: readonly UiNode[]): string | undefined {
  return nodes.find((n) => n.packageName !== '')?.packageName;
}

/** A short name for a node in a timeline: its id and its text. */
export function describeNode(node: UiNode): string {
  const label = node.text || node.contentDesc;
  if (node.resourceId && label) return `${node.resourceId} "${label}"`;
  return node.resourceId || `"${label}"` || node.className;
}
