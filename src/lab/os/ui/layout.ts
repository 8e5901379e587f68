import { classNameOf, isCheckable, isClickable, type ShownScreen } from './screens.ts';

/** The lab phone's display: a 1080x1920 420 dpi phone, like the SDK's pixel-class AVDs. */
export const DISPLAY = {
  width: 1080,
  height: 1920,
  density: 420,
  statusBarHeight: 63,
  navigationBarHeight: 126,
} as const;

export interface Bounds {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** One view of the hierarchy, with the attributes UiAutomator reports for it. */
export interface UiNode {
  className: string;
  package: string;
  text: string;
  contentDesc: string;
  resourceId: string;
  checkable: boolean;
  checked: boolean;
  clickable: boolean;
  enabled: boolean;
  focusable: boolean;
  focused: boolean;
  longClickable: boolean;
  password: boolean;
  scrollable: boolean;
  selected: boolean;
  bounds: Bounds;
  /** Position among its parent's children. */
  index: number;
  children: UiNode[];
  /** Index of the screen element it shows, for clicks; undefined for layout views. */
  element?: number;
  /** The screen title. */
  title?: boolean;
}

const MARGIN = 63;
const TITLE_HEIGHT = 147;
const ROW_HEIGHT = 147;
const GAP = 32;

function node(partial: Partial<UiNode> & Pick<UiNode, 'className' | 'package' | 'bounds'>): UiNode {
  return {
    text: '',
    contentDesc: '',
    resourceId: '',
    checkable: false,
    checked: false,
    clickable: false,
    enabled: true,
    focusable: false,
    focused: false,
    longClickable: false,
    password: false,
    scrollable: false,
    selected: false,
    index: 0,
    children: [],
    ...partial,
  };
}

/**
 * Lays a screen out as a phone would draw a simple form: the window's frame, a content column,
 * the title, then each element one below the other, full width.
 */
export function layoutScreen(screen: ShownScreen): UiNode {
  const top = DISPLAY.statusBarHeight;
  const bottom = DISPLAY.height - DISPLAY.navigationBarHeight;
  const rows: UiNode[] = [];
  let y = top + MARGIN;
  if (screen.title !== undefined) {
    rows.push(
      node({
        className: 'android.widget.TextView',
        package: screen.package,
        text: screen.title,
        resourceId: `${screen.package}:id/title`,
        bounds: { left: MARGIN, top: y, right: DISPLAY.width - MARGIN, bottom: y + TITLE_HEIGHT },
        title: true,
      }),
    );
    y += TITLE_HEIGHT + GAP;
  }
  screen.elements.forEach((element, index) => {
    const clickable = isClickable(element);
    rows.push(
      node({
        className: classNameOf(element),
        package: screen.package,
        text: element.text ?? '',
        contentDesc: element.contentDesc ?? '',
        resourceId: element.resourceId ?? '',
        checkable: isCheckable(element),
        checked: element.checked,
        clickable,
        focusable: clickable,
        longClickable: false,
        bounds: { left: MARGIN, top: y, right: DISPLAY.width - MARGIN, bottom: y + ROW_HEIGHT },
        element: index,
      }),
    );
    y += ROW_HEIGHT + GAP;
  });
  rows.forEach((row, index) => {
    row.index = index;
  });
  const content = node({
    className: 'android.widget.LinearLayout',
    package: screen.package,
    resourceId: `${screen.package}:id/content`,
    bounds: { left: 0, top, right: DISPLAY.width, bottom },
    children: rows,
  });
  return node({
    className: 'android.widget.FrameLayout',
    package: screen.package,
    bounds: { left: 0, top: 0, right: DISPLAY.width, bottom: DISPLAY.height },
    children: [content],
  });
}

/** Every node, depth first, root included. */
export function allNodes(root: UiNode): UiNode[] {
  const out: UiNode[] = [];
  const walk = (n: UiNode): void => {
    out.push(n);
    for (const child of n.children) walk(child);
  };
  walk(root);
  return out;
}
