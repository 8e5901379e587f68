/**
 * Acting on what the screen shows: read it (page source), find an element the plan names, tap
 * it through the UiAutomator2 server, capture the result.
 */
import type { Logger } from '../log.ts';
import { describeNode, foregroundPackage, parsePageSource, type UiNode } from './page-source.ts';
import type { Locator } from './plan.ts';
import type { ScreenCapture } from './timeline.ts';

/** The W3C element reference key (and the JSONWP one older servers answer with). */
const W3C_ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export interface Screen {
  source: string;
  nodes: UiNode[];
  foreground: string | undefined;
}

export async function readScreen(browser: WebdriverIO.Browser): Promise<Screen> {
  const source = await browser.getPageSource();
  const nodes = parsePageSource(source);
  return { source, nodes, foreground: foregroundPackage(nodes) };
}

export async function captureScreen(browser: WebdriverIO.Browser): Promise<ScreenCapture> {
  const pngBase64 = await browser.takeScreenshot();
  const pageSource = await browser.getPageSource();
  return { pngBase64, pageSource };
}

const norm = (text: string): string => text.trim().toLowerCase();

/** How a text of a locator matches a node's text or description. */
export type TextMatch = 'exact' | 'contains';

/**
 * The first node a locator names: resource ids first, in the locator's order, then texts.
 * Buttons match their text exactly (so "Next" is not "Next time"); consent labels may be
 * longer than the plan's text ("Join the User Experience Program").
 */
export function findNode(
  nodes: readonly UiNode[],
  locator: Locator,
  textMatch: TextMatch,
  accept: (node: UiNode) => boolean = () => true,
): UiNode | undefined {
  for (const id of locator.resourceIds) {
    const node = nodes.find((n) => n.resourceId === id && accept(n));
    if (node) return node;
  }
  for (const text of locator.texts.map(norm)) {
    const node = nodes.find((n) =>
      [n.text, n.contentDesc].some((label) => {
        const value = norm(label);
        return (
          value !== '' &&
          accept(n) &&
          (textMatch === 'exact' ? value === text : value.includes(text))
        );
      }),
    );
    if (node) return node;
  }
  return undefined;
}

/** A label's checkbox: itself when checkable, else the first checkable node under its parent. */
export function checkableFor(nodes: readonly UiNode[], node: UiNode): UiNode | undefined {
  if (node.checkable) return node;
  return nodes.find((n) => n.checkable && n.parent !== undefined && n.parent === node.parent);
}

/** A node that takes the tap: itself, or the nearest clickable ancestor (a label in a row). */
export function clickTarget(nodes: readonly UiNode[], node: UiNode): UiNode | undefined {
  for (
    let at: UiNode | undefined = node;
    at;
    at = at.parent === undefined ? undefined : nodes[at.parent]
  ) {
    if (at.clickable || at.checkable) return at;
  }
  return undefined;
}

function xpathLiteral(text: string): string {
  if (!text.includes('"')) return `"${text}"`;
  if (!text.includes("'")) return `'${text}'`;
  return `concat("${text.replaceAll('"', `", '"', "`)}")`;
}

/**
 * Finds a node through the server: by resource id where that id is unique on the screen (the
 * most common strategy), else by XPath on id and text.
 */
async function locate(
  browser: WebdriverIO.Browser,
  nodes: readonly UiNode[],
  node: UiNode,
): Promise<string> {
  const unique =
    node.resourceId !== '' && nodes.filter((n) => n.resourceId === node.resourceId).length === 1;
  const conditions = [
    ...(node.resourceId ? [`@resource-id=${xpathLiteral(node.resourceId)}`] : []),
    ...(node.text ? [`@text=${xpathLiteral(node.text)}`] : []),
    ...(!node.text && node.contentDesc ? [`@content-desc=${xpathLiteral(node.contentDesc)}`] : []),
  ];
  const [using, value] = unique
    ? ['id', node.resourceId]
    : ['xpath', `//*[${conditions.join(' and ') || `@class=${xpathLiteral(node.className)}`}]`];
  const found = (await browser.findElement(using, value)) as unknown as Record<string, string>;
  const id = found[W3C_ELEMENT] ?? found['ELEMENT'];
  if (!id) throw new Error(`the server found no element for ${using} ${value}`);
  return id;
}

/** Taps a node of the current screen; resolves with how it is named in the timeline. */
export async function tap(
  browser: WebdriverIO.Browser,
  nodes: readonly UiNode[],
  node: UiNode,
  logger: Logger,
): Promise<string> {
  const elementId = await locate(browser, nodes, node);
  await browser.elementClick(elementId);
  logger.debug({ node: describeNode(node) }, 'tapped');
  return describeNode(node);
}
