import type { Behaviour, SettingCondition } from '../../android/lab-image.ts';
import type { AppEvents } from './app-events.ts';
import type { BehaviourHost } from './host.ts';

/** Why a firing was held back: the `when` setting and the value it held instead. */
export interface HeldBack {
  reason: string;
  setting: SettingCondition & { value?: string };
}

/**
 * Checks a behaviour's `when` at the moment its trigger fires, as the app's code checks its
 * consent flag before sending. Returns what held it back, or undefined when it may run.
 */
export function heldBack(behaviour: Behaviour, host: BehaviourHost): HeldBack | undefined {
  const condition = behaviour.when?.setting;
  if (condition === undefined) return undefined;
  const value = host.setting(condition.namespace, condition.key);
  if (value === condition.equals) return undefined;
  const held = value === undefined ? 'is unset' : `is ${JSON.stringify(value)}`;
  return {
    reason: `not sent: setting ${condition.namespace} ${condition.key} ${held}, not ${JSON.stringify(condition.equals)} (consent not given)`,
    setting: { ...condition, ...(value === undefined ? {} : { value }) },
  };
}

/** States a held-back firing in the event log, so the report can say what was not sent and why. */
export function emitHeldBack(events: AppEvents, behaviour: Behaviour, held: HeldBack): void {
  events.emit({
    type: 'behaviour.skip',
    behaviour: behaviour.id,
    trigger: behaviour.trigger.on,
    reason: held.reason,
    setting: held.setting,
  });
}
