import { randomUUID } from 'node:crypto';
import type { LabOs } from '../lab-os.ts';
import type { UiNode } from '../ui/layout.ts';
import { InvalidSelectorError, findNodes } from '../ui/locators.ts';
import { nodeAttributes } from '../ui/page-source.ts';
import { invalidArgument, invalidSelector, noSuchElement, staleElement } from './errors.ts';

export type Json = Record<string, unknown>;

const W3C_ELEMENT_KEY = 'element-6066-11e4-a52e-4f735466cecf';

/** The server's settings a new session starts with (`GET /appium/settings`). */
const DEFAULT_SETTINGS: Json = {
  actionAcknowledgmentTimeout: 3000,
  allowInvisibleElements: false,
  ignoreUnimportantViews: false,
  compressedLayoutHierarchy: false,
  elementResponseAttributes: '',
  enableMultiWindows: false,
  enableNotificationListener: true,
  enforceXPath1: false,
  keyInjectionDelay: 0,
  normalizeTagNames: false,
  scrollAcknowledgmentTimeout: 200,
  shouldUseCompactResponses: true,
  waitForIdleTimeout: 10000,
  waitForSelectorTimeout: 10000,
  shutdownOnPowerDisconnect: true,
  simpleBoundsCalculation: false,
  trackScrollEvents: true,
  wakeLockTimeout: 86_400_000,
};

/** An element handed out to the client: the screen it was found on and its path in the tree. */
interface ElementRef {
  screen: string;
  path: number[];
}

function pathOf(root: UiNode, target: UiNode): number[] | undefined {
  if (root === target) return [];
  for (const [i, child] of root.children.entries()) {
    const rest = pathOf(child, target);
    if (rest !== undefined) return [i, ...rest];
  }
  return undefined;
}

function nodeAt(root: UiNode, path: number[]): UiNode | undefined {
  let node: UiNode | undefined = root;
  for (const i of path) node = node?.children[i];
  return node;
}

/** `getAttribute` names and their aliases, as the server's Attribute enum accepts them. */
export function attributeValue(node: UiNode, name: string): string | null {
  const aliases: Record<string, string> = {
    className: 'class',
    contentDescription: 'content-desc',
    resourceId: 'resource-id',
    longClickable: 'long-clickable',
    name: 'text',
  };
  const key = aliases[name] ?? name;
  // Attributes the page source leaves out (an empty content-desc, resource-id) are null.
  return nodeAttributes(node).find(([attr]) => attr === key)?.[1] ?? null;
}

/**
 * One UiAutomator2 session: its capabilities, settings, and the elements it was handed. An
 * element stays valid while the screen it was found on is in the foreground, then it is stale.
 */
export class Uia2Session {
  readonly id = randomUUID();
  readonly capabilities: Json;
  readonly settings: Json = { ...DEFAULT_SETTINGS };
  readonly os: LabOs;
  readonly #elements = new Map<string, ElementRef>();

  constructor(os: LabOs, capabilities: Json) {
    this.os = os;
    this.capabilities = capabilities;
  }

  /** The node an element id stands for, in `tree` (default: the screen as it is now). */
  resolve(id: string, tree: UiNode = this.os.uiLayout()): UiNode {
    const ref = this.#elements.get(id);
    if (ref === undefined || ref.screen !== this.os.ui.current().id) throw staleElement(id);
    const node = nodeAt(tree, ref.path);
    if (node === undefined) throw staleElement(id);
    return node;
  }

  /** `POST /element(s)`: `{ strategy, selector, context? }`; one element or all of them. */
  find(body: Json, many: boolean): Json | Json[] {
    const strategy = typeof body.strategy === 'string' ? body.strategy : undefined;
    const selector = typeof body.selector === 'string' ? body.selector : undefined;
    if (strategy === undefined || selector === undefined)
      throw invalidArgument('strategy and selector are required');
    const full = this.os.uiLayout();
    const context =
      typeof body.context === 'string' && body.context !== '' ? body.context : undefined;
    const root = context === undefined ? full : this.resolve(context, full);
    let found: UiNode[];
    try {
      found = findNodes(root, strategy, selector);
    } catch (error) {
      if (error instanceof InvalidSelectorError) throw invalidSelector(error.message);
      throw error;
    }
    if (many) return found.map((n) => this.#remember(full, n));
    const first = found[0];
    if (first === undefined) throw noSuchElement();
    return this.#remember(full, first);
  }

  #remember(root: UiNode, node: UiNode): Json {
    const id = randomUUID();
    this.#elements.set(id, { screen: this.os.ui.current().id, path: pathOf(root, node) ?? [] });
    return { ELEMENT: id, [W3C_ELEMENT_KEY]: id };
  }
}
