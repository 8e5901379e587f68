import { DOMImplementation, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import { DISPLAY, type Bounds, type UiNode } from './layout.ts';

/** `[x1,y1][x2,y2]`, as UiAutomator prints bounds. */
export function boundsText(b: Bounds): string {
  return `[${b.left},${b.top}][${b.right},${b.bottom}]`;
}

/**
 * A node's attributes in the order and spelling the UiAutomator2 server's page source uses;
 * content-desc and resource-id are left out when empty, as the server leaves out null values.
 */
export function nodeAttributes(node: UiNode): Array<[string, string]> {
  const attrs: Array<[string, string]> = [
    ['index', String(node.index)],
    ['package', node.package],
    ['class', node.className],
    ['text', node.text],
  ];
  if (node.contentDesc !== '') attrs.push(['content-desc', node.contentDesc]);
  if (node.resourceId !== '') attrs.push(['resource-id', node.resourceId]);
  attrs.push(
    ['checkable', String(node.checkable)],
    ['checked', String(node.checked)],
    ['clickable', String(node.clickable)],
    ['enabled', String(node.enabled)],
    ['focusable', String(node.focusable)],
    ['focused', String(node.focused)],
    ['long-clickable', String(node.longClickable)],
    ['password', String(node.password)],
    ['scrollable', String(node.scrollable)],
    ['selected', String(node.selected)],
    ['bounds', boundsText(node.bounds)],
    ['displayed', 'true'],
  );
  return attrs;
}

/** The hierarchy as a DOM, with the DOM element of each node (XPath results map back to nodes). */
export interface SourceDocument {
  document: Document;
  nodeOf: Map<Element, UiNode>;
}

export function sourceDocument(root: UiNode): SourceDocument {
  const document = new DOMImplementation().createDocument(null, 'hierarchy', null);
  const hierarchy = document.documentElement;
  if (hierarchy === null) throw new Error('xmldom created no document element');
  hierarchy.setAttribute('index', '0');
  hierarchy.setAttribute('class', 'hierarchy');
  hierarchy.setAttribute('rotation', '0');
  hierarchy.setAttribute('width', String(DISPLAY.width));
  hierarchy.setAttribute('height', String(DISPLAY.height));
  const nodeOf = new Map<Element, UiNode>();
  const add = (parent: Element, node: UiNode): void => {
    const element = document.createElement(node.className);
    for (const [name, value] of nodeAttributes(node)) element.setAttribute(name, value);
    nodeOf.set(element, node);
    parent.appendChild(element);
    for (const child of node.children) add(element, child);
  };
  add(hierarchy, root);
  return { document, nodeOf };
}

/** The page source (`GET /source`): UiAutomator2's XML, pretty-printed the way it writes it. */
export function pageSource(root: UiNode): string {
  const lines = ["<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>"];
  const { document } = sourceDocument(root);
  const serializer = new XMLSerializer();
  const write = (element: Element, depth: number): void => {
    const indent = '  '.repeat(depth);
    const shallow = element.cloneNode(false) as Element;
    const open = serializer.serializeToString(shallow).replace(/\/>$/, '');
    const children = [...(element.childNodes as unknown as Iterable<Element>)].filter(
      (c) => c.nodeType === 1,
    );
    if (children.length === 0) {
      lines.push(`${indent}${open} />`);
      return;
    }
    lines.push(`${indent}${open}>`);
    for (const child of children) write(child, depth + 1);
    lines.push(`${indent}</${element.tagName}>`);
  };
  if (document.documentElement !== null) write(document.documentElement, 0);
  return `${lines.join('\n')}\n`;
}
