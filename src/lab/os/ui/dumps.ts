import type { LabOs } from '../lab-os.ts';
import { DISPLAY } from './layout.ts';
import { shortComponent } from './screens.ts';

function hash(text: string): string {
  let h = 0x811c9dc5;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0').slice(0, 7);
}

/**
 * `dumpsys window [displays|windows]`: the lines appium-adb reads (mCurrentFocus, mFocusedApp,
 * the display's init size, lock screen and screen state) in the shape Android 10/11 prints them.
 */
export function dumpWindow(os: LabOs): string {
  const screen = os.ui.current();
  const full = `${screen.package}/${screen.activity}`;
  const short = shortComponent(screen.package, screen.activity);
  return [
    'WINDOW MANAGER DISPLAY CONTENTS (dumpsys window displays)',
    '  Display: mDisplayId=0',
    `    init=${DISPLAY.width}x${DISPLAY.height} ${DISPLAY.density}dpi cur=${DISPLAY.width}x${DISPLAY.height} app=${DISPLAY.width}x${DISPLAY.height - DISPLAY.navigationBarHeight} rng=${DISPLAY.width}x${DISPLAY.width - DISPLAY.statusBarHeight}-${DISPLAY.height - DISPLAY.navigationBarHeight}x${DISPLAY.height - DISPLAY.statusBarHeight}`,
    '    mDisplayInfo=DisplayInfo{"Built-in Screen", displayId 0, rotation 0, state ON}',
    '',
    `  mCurrentFocus=Window{${hash(full)} u0 ${full}}`,
    `  mFocusedApp=ActivityRecord{${hash(short)} u0 ${short} t${7 + (screen.id.length % 9)}}`,
    '  mScreenOnEarly=true mScreenOnFully=true',
    '  mKeyguardDrawComplete=true mWindowManagerDrawComplete=true',
    '  mShowingLockscreen=false mShowingDream=false mDreamingLockscreen=false',
    '  mInputMethodWindow=null',
    '',
  ].join('\n');
}

/** `dumpsys activity activities`: the resumed activity, which `am start -W` style waits read. */
export function dumpActivities(os: LabOs): string {
  const screen = os.ui.current();
  const short = shortComponent(screen.package, screen.activity);
  const record = `ActivityRecord{${hash(short)} u0 ${short} t${7 + (screen.id.length % 9)}}`;
  return [
    'ACTIVITY MANAGER ACTIVITIES (dumpsys activity activities)',
    'Display #0 (activities from top to bottom):',
    `  * Task{${hash(screen.package)} #7 visible=true type=standard mode=fullscreen translucent=false A=${screen.package} U=0 StackId=7 sz=1}`,
    `      * Hist #0: ${record}`,
    '',
    `  mResumedActivity: ${record}`,
    `  mFocusedApp=${record}`,
    `  ResumedActivity: ${record}`,
    '',
  ].join('\n');
}

/** `dumpsys power`: awake, not dozing. */
export function dumpPower(): string {
  return [
    'POWER MANAGER (dumpsys power)',
    '',
    'Power Manager State:',
    '  mWakefulness=Awake',
    '  mWakefulnessChanging=false',
    '  mIsPowered=true',
    '  mPlugType=1',
    '  mStayOn=false',
    '  mDisplayReady=true',
    '',
  ].join('\n');
}

/** `dumpsys activity services [pkg]`: the running foreground services, as ServiceRecords. */
export function dumpServices(os: LabOs, pkg: string | undefined): string {
  const records = os
    .runningServices()
    .filter((s) => pkg === undefined || s.package === pkg)
    .flatMap(({ package: p, service }) => {
      const short = shortComponent(p, service);
      const uid = os.packages.get(p)?.uid ?? 10_099;
      return [
        `  * ServiceRecord{${hash(short)} u0 ${short}}`,
        `    intent={cmp=${short}}`,
        `    packageName=${p}`,
        `    processName=${p}`,
        `    app=ProcessRecord{${hash(p)} ${os.pidOf(p)}:${p}/u0a${uid - 10_000}}`,
        '    isForeground=true foregroundId=1 foregroundNoti=Notification(channel=main_channel)',
        `    createTime=-1m2s startingBgTimeout=--`,
      ];
    });
  return [
    'ACTIVITY MANAGER SERVICES (dumpsys activity services)',
    ...(records.length === 0 ? ['  (nothing)'] : ['  User 0 active services:', ...records]),
    '',
  ].join('\n');
}
