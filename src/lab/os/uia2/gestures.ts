import type { Bounds } from '../ui/layout.ts';
import { invalidArgument } from './errors.ts';

type Json = Record<string, unknown>;

const W3C_ELEMENT_KEY = 'element-6066-11e4-a52e-4f735466cecf';

/** The element id in a W3C or JSONWP element reference, if `value` is one. */
export function elementIdOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const ref = value as Json;
  const id = ref[W3C_ELEMENT_KEY] ?? ref.ELEMENT;
  return typeof id === 'string' ? id : undefined;
}

/** How the gesture code reaches the phone: element bounds by id, and a tap at a point. */
export interface GestureTarget {
  boundsOf(elementId: string): Bounds;
  tap(x: number, y: number): void;
}

/** Farther apart than this between down and up, a touch is a swipe, which the screens ignore. */
const TAP_SLOP = 24;

/**
 * `POST /actions` (W3C actions): each pointer source is replayed; a pointerDown followed by a
 * pointerUp near the same point is a tap. Key and wheel sources change nothing on the screens.
 */
export function performActions(body: Json, target: GestureTarget): void {
  const sources = body.actions;
  if (!Array.isArray(sources)) throw invalidArgument('actions must be an array');
  for (const source of sources as Json[]) {
    if (source.type !== 'pointer' || !Array.isArray(source.actions)) continue;
    let x = 0;
    let y = 0;
    let down: { x: number; y: number } | undefined;
    for (const action of source.actions as Json[]) {
      if (action.type === 'pointerMove') {
        const dx = typeof action.x === 'number' ? action.x : 0;
        const dy = typeof action.y === 'number' ? action.y : 0;
        const element = elementIdOf(action.origin);
        if (element !== undefined) {
          const b = target.boundsOf(element);
          x = (b.left + b.right) / 2 + dx;
          y = (b.top + b.bottom) / 2 + dy;
        } else if (action.origin === 'pointer') {
          x += dx;
          y += dy;
        } else {
          x = dx;
          y = dy;
        }
      } else if (action.type === 'pointerDown') {
        down = { x, y };
      } else if (action.type === 'pointerUp' && down !== undefined) {
        if (Math.hypot(x - down.x, y - down.y) <= TAP_SLOP) target.tap(x, y);
        down = undefined;
      }
    }
  }
}

/**
 * `mobile: clickGesture` (`POST /appium/gestures/click`): the element's centre, or a point
 * relative to its top left, or a point on the screen.
 */
export function clickGesture(body: Json, target: GestureTarget): void {
  const element = elementIdOf(body.origin);
  const x = typeof body.x === 'number' ? body.x : undefined;
  const y = typeof body.y === 'number' ? body.y : undefined;
  if (element !== undefined) {
    const b = target.boundsOf(element);
    if (x === undefined || y === undefined)
      target.tap((b.left + b.right) / 2, (b.top + b.bottom) / 2);
    else target.tap(b.left + x, b.top + y);
    return;
  }
  if (x === undefined || y === undefined)
    throw invalidArgument('a click gesture needs an element or x and y');
  target.tap(x, y);
}
