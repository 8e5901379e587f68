import { CanarytrapError } from '../../../errors.ts';
import type { LabImage, UiAction, UiElement, UiScreen } from '../../../android/lab-image.ts';
import type { SettingsStore } from '../settings.ts';

/** The launcher every lab image has (see the framework packages). */
export const LAUNCHER_PACKAGE = 'com.android.launcher3';
export const LAUNCHER_ACTIVITY = 'com.android.launcher3.Launcher';
/** The id a UiAction's `goTo` uses for the launcher home screen. */
export const HOME_SCREEN = 'home';

/** An element as shown: the image's element plus what the launcher adds (opening an app). */
export interface ShownElement extends UiElement {
  /** Launcher icons: the package opened by a click. */
  launch?: string;
}

/** The foreground screen: which activity shows it and what is on it, states applied. */
export interface ShownScreen {
  id: string;
  package: string;
  /** Fully qualified activity class name. */
  activity: string;
  title: string | undefined;
  elements: Array<ShownElement & { checked: boolean }>;
}

/** A class name as the component's `cls`: ".Foo" is relative to the package. */
export function qualifyActivity(pkg: string, activity: string): string {
  if (activity.startsWith('.')) return `${pkg}${activity}`;
  return activity.includes('.') ? activity : `${pkg}.${activity}`;
}

/** `pkg/.Foo` when the class is in the package, as ActivityRecord prints it. */
export function shortComponent(pkg: string, activity: string): string {
  return `${pkg}/${activity.startsWith(`${pkg}.`) ? activity.slice(pkg.length) : activity}`;
}

const CHECKABLE_CLASSES = new Set(['android.widget.CheckBox', 'android.widget.Switch']);
const CLICKABLE_CLASSES = new Set([
  'android.widget.Button',
  'android.widget.ImageButton',
  ...CHECKABLE_CLASSES,
]);

export function classNameOf(element: UiElement): string {
  return element.className ?? 'android.widget.TextView';
}

export function isCheckable(element: UiElement): boolean {
  return element.checkable ?? CHECKABLE_CLASSES.has(classNameOf(element));
}

export function isClickable(element: ShownElement): boolean {
  return (
    element.clickable ??
    (CLICKABLE_CLASSES.has(classNameOf(element)) || element.launch !== undefined)
  );
}

interface LauncherApp {
  package: string;
  label: string;
  activity: string;
  screen: string | undefined;
}

/**
 * What the phone shows: the lab image's screens, the setup wizard at boot until it is finished,
 * a launcher home screen listing the apps that have a launcher activity, and a back stack.
 * Element states (checked) live as long as the phone; clicks apply the image's UiActions, whose
 * settings go to the OS's settings store, where `settings get` and behaviours see them.
 */
export class ScreenModel {
  readonly #screens = new Map<string, UiScreen>();
  readonly #apps: LauncherApp[];
  readonly #settings: SettingsStore;
  readonly #setupScreen: string | undefined;
  readonly #checked = new Map<string, boolean>();
  /** Text typed into editable elements, by `<screen>#<index>`. */
  readonly #typed = new Map<string, string>();
  /** Screen ids, the top is shown; never empty. */
  #stack: string[] = [HOME_SCREEN];
  readonly #listeners = new Set<(screen: ShownScreen) => void>();

  constructor(image: LabImage, settings: SettingsStore) {
    this.#settings = settings;
    for (const screen of image.ui?.screens ?? []) this.#screens.set(screen.id, screen);
    this.#setupScreen = image.ui?.setupScreen;
    this.#apps = image.apps
      .filter((app) => app.launcherActivity !== undefined)
      .map((app) => ({
        package: app.package,
        label: app.label,
        activity: qualifyActivity(app.package, app.launcherActivity ?? ''),
        screen: app.screen,
      }));
    const problems = uiProblems(image);
    if (problems.length > 0) {
      throw new CanarytrapError(
        'lab-image-invalid',
        `lab image ${image.name} has a ui that cannot be shown: ${problems.join('; ')}`,
        { permanent: true, hint: 'fix the screen ids the image refers to' },
      );
    }
    // A lab phone boots fresh every time: an image with a setup wizard starts unprovisioned.
    if (this.#setupScreen !== undefined) {
      settings.put('global', 'device_provisioned', '0');
      settings.put('secure', 'user_setup_complete', '0');
      this.#stack = [this.#setupScreen];
    }
  }

  /** True until the setup wizard is finished (setup done is what lets home and apps show). */
  get inSetup(): boolean {
    return this.#settings.get('secure', 'user_setup_complete') === '0';
  }

  onChange(listener: (screen: ShownScreen) => void): void {
    this.#listeners.add(listener);
  }

  current(): ShownScreen {
    const id = this.#stack.at(-1) ?? HOME_SCREEN;
    if (id === HOME_SCREEN) return this.#home();
    const app = id.startsWith('app:')
      ? this.#apps.find((a) => `app:${a.package}` === id)
      : undefined;
    if (app !== undefined) return this.#plainAppScreen(app);
    const screen = this.#screens.get(id);
    if (screen === undefined) return this.#home();
    return {
      id,
      package: screen.package,
      activity: qualifyActivity(screen.package, screen.activity),
      title: screen.title,
      elements: screen.elements.map((element, index) => ({
        ...element,
        ...(this.#typed.has(`${id}#${index}`) ? { text: this.#typed.get(`${id}#${index}`) } : {}),
        checked: this.#checked.get(`${id}#${index}`) ?? element.checked ?? false,
      })),
    };
  }

  /** Taps element `index` of the current screen: toggles a checkable, then applies its actions. */
  click(index: number): void {
    const screen = this.current();
    const element = screen.elements[index];
    if (element === undefined) return;
    if (element.launch !== undefined) {
      this.startApp(element.launch);
      return;
    }
    const actions: UiAction[] = [];
    if (isCheckable(element)) {
      const checked = !element.checked;
      this.#checked.set(`${screen.id}#${index}`, checked);
      const change = checked ? element.onCheck : element.onUncheck;
      if (change !== undefined) actions.push(change);
    }
    if (element.onClick !== undefined) actions.push(element.onClick);
    for (const action of actions) this.#apply(action);
    this.#notify();
  }

  /**
   * Typing into element `index` of the current screen (`sendKeys`, `clear` with ""): only
   * EditText elements take text; it replaces what they show until the phone stops.
   */
  type(index: number, text: string): boolean {
    const screen = this.current();
    const element = screen.elements[index];
    if (element === undefined || !classNameOf(element).endsWith('EditText')) return false;
    this.#typed.set(`${screen.id}#${index}`, text);
    this.#notify();
    return true;
  }

  /** The back key: the previous screen; the first setup screen and home stay where they are. */
  back(): void {
    if (this.#stack.length > 1) this.#show(this.#stack.slice(0, -1));
  }

  /** The home key; the setup wizard is the home activity until setup is finished. */
  home(): void {
    if (this.inSetup) return;
    this.#show([HOME_SCREEN]);
  }

  /**
   * Brings a package to the foreground (launcher, `am start`, `monkey`, the driver's
   * startActivity). False when it has no activity to show; an activity that is not the app's
   * launcher activity shows the app's screen all the same.
   */
  startApp(pkg: string, activity?: string): boolean {
    if (this.inSetup) return false;
    if (pkg === LAUNCHER_PACKAGE) {
      this.home();
      return true;
    }
    const app = this.#apps.find((a) => a.package === pkg);
    const screen = [...this.#screens.values()].find(
      (s) =>
        s.package === pkg &&
        (activity === undefined ||
          qualifyActivity(pkg, s.activity) === qualifyActivity(pkg, activity)),
    );
    const target =
      app?.screen ?? screen?.id ?? (app === undefined ? undefined : `app:${app.package}`);
    if (target === undefined) return false;
    const top = this.#stack.at(-1);
    if (top !== target) this.#show([...this.#stack, target]);
    return true;
  }

  /** `am force-stop`: the package's screens leave the back stack. */
  forceStop(pkg: string): void {
    if (this.inSetup) return;
    const kept = this.#stack.filter((id) => id === HOME_SCREEN || this.#packageOf(id) !== pkg);
    if (kept.length !== this.#stack.length) this.#show(kept.length === 0 ? [HOME_SCREEN] : kept);
  }

  #packageOf(id: string): string | undefined {
    if (id.startsWith('app:')) return id.slice('app:'.length);
    return this.#screens.get(id)?.package;
  }

  #apply(action: UiAction): void {
    for (const write of action.set ?? [])
      this.#settings.put(write.namespace, write.key, write.value);
    if (action.finishSetup === true) {
      this.#settings.put('global', 'device_provisioned', '1');
      this.#settings.put('secure', 'user_setup_complete', '1');
      this.#stack = [HOME_SCREEN];
      return;
    }
    if (action.goTo === HOME_SCREEN) {
      this.#stack = [HOME_SCREEN];
    } else if (action.goTo !== undefined) {
      this.#stack = [...this.#stack, action.goTo];
    }
  }

  #show(stack: string[]): void {
    this.#stack = stack;
    this.#notify();
  }

  #notify(): void {
    const screen = this.current();
    for (const listener of this.#listeners) listener(screen);
  }

  #home(): ShownScreen {
    return {
      id: HOME_SCREEN,
      package: LAUNCHER_PACKAGE,
      activity: LAUNCHER_ACTIVITY,
      title: undefined,
      elements: this.#apps.map((app) => ({
        className: 'android.widget.TextView',
        text: app.label,
        contentDesc: app.label,
        resourceId: `${LAUNCHER_PACKAGE}:id/icon`,
        launch: app.package,
        checked: false,
      })),
    };
  }

  #plainAppScreen(app: LauncherApp): ShownScreen {
    return {
      id: `app:${app.package}`,
      package: app.package,
      activity: app.activity,
      title: app.label,
      elements: [],
    };
  }
}

/** Screen ids the image refers to but does not define. */
export function uiProblems(image: LabImage): string[] {
  const ids = new Set((image.ui?.screens ?? []).map((s) => s.id));
  const problems: string[] = [];
  const known = (id: string): boolean => id === HOME_SCREEN || ids.has(id);
  if (image.ui?.setupScreen !== undefined && !ids.has(image.ui.setupScreen))
    problems.push(`setupScreen "${image.ui.setupScreen}" is not a screen`);
  for (const app of image.apps) {
    if (app.screen !== undefined && !ids.has(app.screen))
      problems.push(`app ${app.package} shows screen "${app.screen}", which is not a screen`);
  }
  for (const screen of image.ui?.screens ?? []) {
    screen.elements.forEach((element, index) => {
      for (const action of [element.onClick, element.onCheck, element.onUncheck]) {
        if (action?.goTo !== undefined && !known(action.goTo))
          problems.push(
            `screen ${screen.id} element ${index} goes to unknown screen "${action.goTo}"`,
          );
      }
    });
  }
  return problems;
}
