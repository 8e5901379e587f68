import type { AlarmManager } from './alarm-manager.ts';

const DEEP_STEPS = [
  'ACTIVE',
  'IDLE_PENDING',
  'SENSING',
  'LOCATING',
  'IDLE',
  'IDLE_MAINTENANCE',
] as const;
export type DeepState = (typeof DEEP_STEPS)[number];

/**
 * Doze as `dumpsys deviceidle` drives it: `force-idle` goes straight to IDLE, `step` walks the
 * deep states (IDLE and IDLE_MAINTENANCE alternate once reached), `unforce` returns to ACTIVE.
 * In IDLE the alarm manager holds back alarms that are not allowed while idle.
 */
export class DeviceIdle {
  #state: DeepState = 'ACTIVE';
  #forced = false;

  constructor(private readonly alarms: AlarmManager) {}

  get state(): DeepState {
    return this.#state;
  }

  get forced(): boolean {
    return this.#forced;
  }

  forceIdle(): void {
    this.#forced = true;
    this.#set('IDLE');
  }

  unforce(): void {
    this.#forced = false;
    this.#set('ACTIVE');
  }

  step(): DeepState {
    this.#forced = true;
    const next =
      this.#state === 'IDLE'
        ? 'IDLE_MAINTENANCE'
        : this.#state === 'IDLE_MAINTENANCE'
          ? 'IDLE'
          : (DEEP_STEPS[DEEP_STEPS.indexOf(this.#state) + 1] ?? 'IDLE');
    this.#set(next);
    return next;
  }

  #set(state: DeepState): void {
    this.#state = state;
    this.alarms.setIdle(state === 'IDLE');
  }
}
