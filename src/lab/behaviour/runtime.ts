import { CanarytrapError, InputError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { Behaviour, LabApp, LabImage } from '../../android/lab-image.ts';
import { AppEvents } from './app-events.ts';
import { emitHeldBack, heldBack } from './gate.ts';
import type { BehaviourHost, ScheduledWork } from './host.ts';
import { runBehaviour, type BehaviourOutcome } from './run-behaviour.ts';
import { assertRunnable } from './validate.ts';

export interface BehaviourOptions {
  /** How long one send may take, DNS to last response byte. Default 15 000 ms. */
  sendTimeoutMs?: number;
}

/** The firmware's apps, running. */
export interface BehaviourRuntime {
  /**
   * Stops the apps: scheduled work that fires later does nothing, and the returned promise
   * waits for sends already under way. Safe to call more than once.
   */
  stop(): Promise<void>;
  /**
   * Runs one behaviour at once, as if its trigger fired, and resolves with how it ended (it
   * never rejects for a failed send). Its `when` is checked as for any firing: when it does not
   * hold, nothing is sent and the outcome is `skipped`. `behaviourId` is the behaviour's id, or
   * `<package>/<id>` where two apps use the same id.
   */
  runNow(behaviourId: string): Promise<BehaviourOutcome>;
}

const HOUR_MS = 3_600_000;
const DEFAULT_SEND_TIMEOUT_MS = 15_000;

/**
 * Starts every behaviour of the lab image on the device, once boot has completed: boot
 * behaviours as one-shot alarms after their delay (as apps do on BOOT_COMPLETED, and so they
 * show in `dumpsys alarm` and fire when the device clock is moved), alarms and jobs on the
 * device's schedulers, SMS-triggered behaviours on incoming SMS, setting-triggered ones on a
 * settings change. A behaviour with `when` sends only while its setting holds; each firing it
 * holds back is stated as a `behaviour.skip` event. Throws `lab-image-invalid`
 * before scheduling anything if a behaviour cannot run.
 */
export function startBehaviours(
  image: LabImage,
  host: BehaviourHost,
  logger: Logger,
  options: BehaviourOptions = {},
): BehaviourRuntime {
  assertRunnable(image);
  const sendTimeoutMs = options.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  const inFlight = new Set<Promise<BehaviourOutcome>>();
  let stopping: Promise<void> | undefined;

  const launch = (app: LabApp, behaviour: Behaviour): Promise<BehaviourOutcome> => {
    const held = heldBack(behaviour, host);
    if (held !== undefined) {
      emitHeldBack(new AppEvents(host, app.package), behaviour, held);
      logger.info({ package: app.package, behaviour: behaviour.id }, held.reason);
      return Promise.resolve({
        ok: false,
        package: app.package,
        behaviour: behaviour.id,
        channel: behaviour.send.channel,
        error: held.reason,
        skipped: true,
      });
    }
    const running = runBehaviour(app, behaviour, { image, host, logger, sendTimeoutMs });
    inFlight.add(running);
    void running.finally(() => inFlight.delete(running));
    return running;
  };
  const workFor = (app: LabApp, behaviour: Behaviour): ScheduledWork => ({
    run: async () => {
      // A stopped phone's apps are gone; the scheduler may still hold their alarms.
      if (stopping !== undefined) return;
      await launch(app, behaviour);
    },
  });

  const bootTime = host.now();
  for (const app of image.apps) {
    for (const behaviour of app.behaviours) {
      schedule(app, behaviour, host, bootTime, workFor(app, behaviour));
      logger.debug(
        { package: app.package, behaviour: behaviour.id, trigger: behaviour.trigger },
        'behaviour scheduled',
      );
    }
  }

  return {
    stop: () => {
      stopping ??= Promise.all([...inFlight]).then(() => undefined);
      return stopping;
    },
    runNow: async (behaviourId) => {
      if (stopping !== undefined) {
        throw new CanarytrapError(
          'lab-behaviours-stopped',
          `cannot run ${behaviourId}: the behaviours were stopped`,
        );
      }
      const { app, behaviour } = findBehaviour(image, behaviourId);
      return launch(app, behaviour);
    },
  };
}

function schedule(
  app: LabApp,
  behaviour: Behaviour,
  host: BehaviourHost,
  bootTime: number,
  work: ScheduledWork,
): void {
  const trigger = behaviour.trigger;
  const tag = `${app.package}.${behaviour.id}`;
  switch (trigger.on) {
    case 'boot':
      host.setAlarm(app.package, tag, bootTime + trigger.delaySeconds * 1000, 0, work);
      return;
    case 'alarm': {
      const firstAfterHours = trigger.firstAfterHours ?? trigger.everyHours;
      host.setAlarm(
        app.package,
        tag,
        host.now() + firstAfterHours * HOUR_MS,
        trigger.everyHours * HOUR_MS,
        work,
      );
      return;
    }
    case 'job':
      host.scheduleJob(
        app.package,
        trigger.jobId,
        jobServiceName(app.package, behaviour.id),
        trigger.everyHours * HOUR_MS,
        work,
      );
      return;
    case 'sms-received':
      host.onSmsReceived(() => {
        // The host's listener is synchronous; the run is awaited through the work's own promise.
        void work.run();
      });
      return;
    case 'setting': {
      // Fires on the change to the value, not on every write of it: apps observe the setting's
      // URI and act when their flag flips.
      let last = host.setting(trigger.namespace, trigger.key);
      host.onSettingChanged((namespace, key, value) => {
        if (namespace !== trigger.namespace || key !== trigger.key) return;
        const previous = last;
        last = value;
        if (value === trigger.equals && previous !== trigger.equals) void work.run();
      });
      return;
    }
  }
}

/** The JobService a real app would declare for this behaviour: `com.adups.fota/.CommandPollJobService`. */
export function jobServiceName(pkg: string, behaviourId: string): string {
  const name = behaviourId
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part !== '')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
  return `${pkg}/.${name}JobService`;
}

function findBehaviour(
  image: LabImage,
  behaviourId: string,
): { app: LabApp; behaviour: Behaviour } {
  const slash = behaviourId.lastIndexOf('/');
  const wantedPackage = slash === -1 ? undefined : behaviourId.slice(0, slash);
  const wantedId = slash === -1 ? behaviourId : behaviourId.slice(slash + 1);
  const matches = image.apps.flatMap((app) =>
    app.behaviours
      .filter(
        (behaviour) =>
          behaviour.id === wantedId &&
          (wantedPackage === undefined || app.package === wantedPackage),
      )
      .map((behaviour) => ({ app, behaviour })),
  );
  const [match] = matches;
  if (match === undefined) {
    throw new InputError(
      'lab-behaviour-unknown',
      `lab image "${image.name}" has no behaviour "${behaviourId}"`,
    );
  }
  if (matches.length > 1) {
    throw new InputError(
      'lab-behaviour-ambiguous',
      `"${behaviourId}" names behaviours in several apps`,
      {
        hint: `name it as <package>/${wantedId}: ${matches.map((m) => `${m.app.package}/${wantedId}`).join(', ')}`,
      },
    );
  }
  return match;
}
