import type { Element } from '@xmldom/xmldom';
import xpath from 'xpath';
import { allNodes, type UiNode } from './layout.ts';
import { sourceDocument } from './page-source.ts';

/** A locator the server cannot use: WebDriver's `invalid selector`. */
export class InvalidSelectorError extends Error {
  override readonly name = 'InvalidSelectorError';
}

type Predicate = (node: UiNode) => boolean;

/** A Java regex as UiSelector's `*Matches` use it, whole-string; a leading `(?i)` is honoured. */
function regex(pattern: string): RegExp {
  const caseless = pattern.startsWith('(?i)');
  const body = caseless ? pattern.slice('(?i)'.length) : pattern;
  try {
    return new RegExp(`^(?:${body})$`, caseless ? 'si' : 's');
  } catch (error) {
    throw new InvalidSelectorError(`invalid regular expression ${JSON.stringify(pattern)}`, {
      cause: error,
    });
  }
}

function boolArg(value: string | undefined): boolean {
  return value === undefined || value === 'true';
}

/** One `.method(arg)` of a UiSelector chain, as UiAutomator's selector parser reads it. */
function selectorPredicate(method: string, raw: string | undefined): Predicate {
  const arg = raw === undefined ? '' : raw;
  switch (method) {
    case 'text':
      return (n) => n.text === arg;
    case 'textContains':
      return (n) => n.text.includes(arg);
    case 'textStartsWith':
      return (n) => n.text.startsWith(arg);
    case 'textMatches':
      return (n) => regex(arg).test(n.text);
    case 'description':
      return (n) => n.contentDesc === arg;
    case 'descriptionContains':
      return (n) => n.contentDesc.includes(arg);
    case 'descriptionStartsWith':
      return (n) => n.contentDesc.startsWith(arg);
    case 'descriptionMatches':
      return (n) => regex(arg).test(n.contentDesc);
    case 'resourceId':
      return (n) => n.resourceId === arg;
    case 'resourceIdMatches':
      return (n) => regex(arg).test(n.resourceId);
    case 'className':
      return (n) => n.className === arg || n.className.endsWith(`.${arg}`);
    case 'classNameMatches':
      return (n) => regex(arg).test(n.className);
    case 'packageName':
      return (n) => n.package === arg;
    case 'packageNameMatches':
      return (n) => regex(arg).test(n.package);
    case 'checkable':
      return (n) => n.checkable === boolArg(raw);
    case 'checked':
      return (n) => n.checked === boolArg(raw);
    case 'clickable':
      return (n) => n.clickable === boolArg(raw);
    case 'enabled':
      return (n) => n.enabled === boolArg(raw);
    case 'focusable':
      return (n) => n.focusable === boolArg(raw);
    case 'focused':
      return (n) => n.focused === boolArg(raw);
    case 'scrollable':
      return (n) => n.scrollable === boolArg(raw);
    case 'selected':
      return (n) => n.selected === boolArg(raw);
    case 'longClickable':
      return (n) => n.longClickable === boolArg(raw);
    case 'index':
      return (n) => n.index === Number(arg);
    default:
      throw new InvalidSelectorError(
        `UiSelector method ${method} is not supported by the lab phone`,
      );
  }
}

/**
 * `new UiSelector().text("Next").className("android.widget.Button")`, optionally `.instance(n)`.
 * `new UiScrollable(...).scrollIntoView(<UiSelector>)` selects what the inner selector does:
 * every screen fits the display, so there is nothing to scroll.
 */
function uiSelector(nodes: UiNode[], selector: string): UiNode[] {
  const scrollable =
    /^(?:new\s+)?UiScrollable\(.*\)\.(?:scrollIntoView|getChildByText|getChildByDescription)\(\s*((?:new\s+)?UiSelector\(\).*?)\s*\)\s*;?$/s.exec(
      selector.trim(),
    );
  const body = (scrollable?.[1] ?? selector).trim().replace(/;$/, '');
  const start = /^(?:new\s+)?UiSelector\(\)/.exec(body);
  if (!start) throw new InvalidSelectorError(`not a UiSelector expression: ${selector}`);
  const call = /\.(\w+)\(\s*(?:"((?:[^"\\]|\\.)*)"|(true|false|-?\d+))?\s*\)/y;
  call.lastIndex = start[0].length;
  const predicates: Predicate[] = [];
  let instance: number | undefined;
  while (call.lastIndex < body.length) {
    const m = call.exec(body);
    if (!m?.[1]) throw new InvalidSelectorError(`cannot parse UiSelector ${selector}`);
    const arg = m[2] === undefined ? m[3] : m[2].replaceAll(/\\(.)/g, '$1');
    if (m[1] === 'instance') instance = Number(arg);
    else predicates.push(selectorPredicate(m[1], arg));
  }
  const found = nodes.filter((n) => predicates.every((p) => p(n)));
  if (instance === undefined) return found;
  const one = found[instance];
  return one === undefined ? [] : [one];
}

function byXpath(root: UiNode, expression: string): UiNode[] {
  const { document, nodeOf } = sourceDocument(root);
  let selected: unknown;
  try {
    selected = xpath.select(expression, document as unknown as Node);
  } catch (error) {
    throw new InvalidSelectorError(`invalid XPath ${JSON.stringify(expression)}`, { cause: error });
  }
  if (!Array.isArray(selected)) {
    throw new InvalidSelectorError(`XPath ${JSON.stringify(expression)} selects no elements`);
  }
  return selected
    .map((item) => nodeOf.get(item as Element))
    .filter((n): n is UiNode => n !== undefined);
}

/**
 * The nodes a WebDriver locator selects, in document order. `id` accepts the full resource id
 * or its entry name (`next` for `<package>:id/next`), as the server tries both.
 */
export function findNodes(root: UiNode, strategy: string, selector: string): UiNode[] {
  const nodes = allNodes(root);
  switch (strategy) {
    case 'id':
      return nodes.filter(
        (n) =>
          n.resourceId !== '' &&
          (n.resourceId === selector ||
            n.resourceId === `${n.package}:id/${selector}` ||
            n.resourceId === `android:id/${selector}`),
      );
    case 'accessibility id':
      return nodes.filter((n) => n.contentDesc !== '' && n.contentDesc === selector);
    case 'class name':
      return nodes.filter((n) => n.className === selector);
    case 'xpath':
      return byXpath(root, selector);
    case '-android uiautomator':
      return uiSelector(nodes, selector);
    default:
      throw new InvalidSelectorError(
        `locator strategy ${JSON.stringify(strategy)} is not supported`,
      );
  }
}
