import { dirname, join } from 'node:path';
import type { Logger } from '../../log.ts';
import { buildFingerprint, type LabImage } from '../../android/lab-image.ts';
import { DeviceClock, realHostTime, type HostTime } from './clock.ts';
import { EVENTS_FILE, EventLog } from './event-log.ts';
import { DevicePortTable } from './device-ports.ts';
import { DeviceFileSystem, type DeviceFsLayout } from './fs/device-fs.ts';
import { IDENTITY_FILE, IdentitySource } from './identity.ts';
import { PackageCatalog } from './packages.ts';
import { PropertyStore } from './properties.ts';
import { ContentStore } from './providers/content-store.ts';
import { AlarmManager } from './scheduling/alarm-manager.ts';
import { DeviceIdle } from './scheduling/device-idle.ts';
import { JobScheduler } from './scheduling/job-scheduler.ts';
import { WorkRunner } from './scheduling/work-runner.ts';
import { SettingsStore } from './settings.ts';
import { Telephony } from './telephony.ts';
import type { Instrumentations } from './instrumentations.ts';
import { allNodes, layoutScreen, type UiNode } from './ui/layout.ts';
import { ScreenRenderer } from './ui/render.ts';
import { ScreenModel } from './ui/screens.ts';

export interface HostPort {
  host: string;
  port: number;
}

/**
 * What the device's network offers its apps: a DNS server always; an HTTP proxy only when the
 * phone runs uncaged (without one, apps open their sockets directly, as in an emulator guest).
 */
export interface DeviceNetwork {
  dnsServer: HostPort;
  httpProxy?: HostPort;
}

export interface LabOsOptions {
  image: LabImage;
  /** The image's /system/build.prop. */
  buildProp: Record<string, string>;
  /** Host directories backing the device file system. */
  layout: DeviceFsLayout;
  consolePort: number;
  /** `--phone-number`; default the emulator's 1555521<console port>. */
  phoneNumber?: string;
  avdName: string;
  network: DeviceNetwork;
  /** Runs `am instrument` on this OS; the lab device gives it the UiAutomator2 runner. */
  instrumentations: (os: LabOs) => Instrumentations;
  logger: Logger;
  /** Injected in tests; default the host clocks. */
  hostTime?: HostTime;
  /** Time from start to `sys.boot_completed=1`; default 1000 ms, like a fast emulator snapshot. */
  bootDelayMs?: number;
  /** How often waiting alone makes alarms and jobs due; default 500 ms. */
  tickMs?: number;
}

/**
 * The lab phone's operating system: all the state planting changes and behaviours read (props,
 * settings, providers, identity, clock, alarms, jobs, files, radio), owned by one object per phone.
 */
export class LabOs {
  readonly image: LabImage;
  readonly clock: DeviceClock;
  readonly props = new PropertyStore();
  readonly settings = new SettingsStore();
  /** The device's own loopback ports (the UiAutomator2 server's 6790...). */
  readonly devicePorts = new DevicePortTable();
  readonly content: ContentStore;
  readonly packages: PackageCatalog;
  readonly identity: IdentitySource;
  readonly fs: DeviceFileSystem;
  readonly telephony: Telephony;
  readonly runner: WorkRunner;
  readonly alarms: AlarmManager;
  readonly jobs: JobScheduler;
  readonly deviceIdle: DeviceIdle;
  readonly events: EventLog;
  readonly logger: Logger;
  /** What the screen shows (setup wizard, launcher, apps) and the back stack. */
  readonly ui: ScreenModel;
  readonly #renderer = new ScreenRenderer();
  /** `am instrument`: the UiAutomator2 server. */
  readonly instrumentations: Instrumentations;
  /** Host dir for APKs being installed (the phone's temp dir). */
  readonly stagingDir: string;
  readonly avdName: string;
  readonly network: DeviceNetwork;
  /** After `mount -o rw,remount /system`. */
  systemWritable = false;
  readonly #pids = new Map<string, number>();
  #nextPid = 1800;
  readonly #bootListeners = new Set<() => void>();
  readonly #closeListeners = new Set<() => void>();
  readonly #services = new Map<string, string[]>();
  #closed = false;
  #booted = false;
  #timers: NodeJS.Timeout[] = [];
  readonly #bootDelayMs: number;
  readonly #tickMs: number;

  constructor(options: LabOsOptions) {
    this.image = options.image;
    this.logger = options.logger;
    this.avdName = options.avdName;
    this.network = options.network;
    this.#bootDelayMs = options.bootDelayMs ?? 1000;
    this.#tickMs = options.tickMs ?? 500;
    this.clock = new DeviceClock(options.hostTime ?? realHostTime);
    this.content = new ContentStore(() => this.clock.now());
    this.packages = new PackageCatalog(options.image);
    this.fs = new DeviceFileSystem(options.layout, {
      isSystemWritable: () => this.systemWritable,
      virtualFiles: {
        '/proc/version': () =>
          'Linux version 3.18.91+ (android-build@wphs1.hot.corp.google.com) (gcc version 4.9.x 20150123 (prerelease) (GCC) ) #1 SMP PREEMPT Tue Jan 9 20:30:51 UTC 2018\n',
      },
    });
    const serial = `EMULATOR${options.image.build.sdk}X${options.consolePort}X0`;
    this.identity = new IdentitySource({
      consolePort: options.consolePort,
      ...(options.phoneNumber === undefined ? {} : { phoneNumber: options.phoneNumber }),
      serial,
      readIdentityFile: () => this.fs.readTextSync(IDENTITY_FILE),
      settings: this.settings,
    });
    this.telephony = new Telephony(this.clock, this.content);
    this.runner = new WorkRunner(options.logger);
    this.alarms = new AlarmManager(this.clock, this.runner);
    this.deviceIdle = new DeviceIdle(this.alarms);
    this.jobs = new JobScheduler(this.clock, this.runner, (pkg) => this.packages.get(pkg)?.uid);
    this.ui = new ScreenModel(options.image, this.settings);
    this.ui.onChange((screen) => {
      // The app in the foreground has a process (`pidof`, `ps` and app-state queries see it).
      this.pidOf(screen.package);
      this.logger.debug({ screen: screen.id, activity: screen.activity }, 'screen shown');
    });
    this.instrumentations = options.instrumentations(this);
    this.stagingDir = join(dirname(options.layout.dataLocalTmp), 'package-installs');
    this.events = new EventLog(
      join(options.layout.dataLocalTmp, EVENTS_FILE.slice('/data/local/tmp/'.length)),
    );
    this.#setInitialProperties(options, serial);
    this.clock.onChange((previous, now) => {
      if (now > previous) this.#dispatchDue();
    });
  }

  #setInitialProperties(options: LabOsOptions, serial: string): void {
    const b = options.image.build;
    this.props.setAll({
      'ro.build.fingerprint': buildFingerprint(b),
      'ro.build.version.release': b.release,
      'ro.build.version.sdk': String(b.sdk),
      'ro.build.version.incremental': b.incremental,
      'ro.build.version.security_patch': b.securityPatch,
      'ro.build.type': b.buildType,
      'ro.build.tags': 'release-keys',
      'ro.product.manufacturer': b.manufacturer,
      'ro.product.brand': b.brand,
      'ro.product.model': b.model,
      'ro.product.device': b.device,
      'ro.product.name': b.product,
      'ro.product.cpu.abi': b.abi,
      'ro.product.cpu.abilist':
        b.abi === 'x86_64'
          ? 'x86_64,x86'
          : b.abi === 'arm64-v8a'
            ? 'arm64-v8a,armeabi-v7a,armeabi'
            : b.abi,
    });
    this.props.setAll(options.buildProp);
    this.props.setAll({
      'ro.kernel.qemu': '1',
      'ro.hardware': 'ranchu',
      'ro.boot.hardware': 'ranchu',
      'ro.serialno': serial,
      'ro.boot.serialno': serial,
      'ro.debuggable': b.buildType === 'user' ? '0' : '1',
      'ro.secure': b.buildType === 'user' ? '1' : '0',
      'ro.adb.secure': '0',
      'persist.sys.timezone': 'UTC',
      'gsm.sim.operator.numeric': '310260',
      'gsm.operator.alpha': 'Android',
      'net.dns1': options.network.dnsServer.host,
      'init.svc.adbd': 'running',
      'init.svc.bootanim': 'running',
      'sys.boot_completed': '',
      'dev.bootcomplete': '',
      'service.bootanim.exit': '0',
    });
    const proxy = options.network.httpProxy;
    if (proxy !== undefined) this.props.set('net.gprs.http-proxy', `${proxy.host}:${proxy.port}`);
  }

  get booted(): boolean {
    return this.#booted;
  }

  /** Starts the clocks' timers; boot completes after the boot delay. */
  start(): void {
    this.#timers.push(setTimeout(() => this.#completeBoot(), this.#bootDelayMs));
    this.#timers.push(setInterval(() => this.#dispatchDue(), this.#tickMs));
  }

  /** Called once boot completes (immediately when it already has). */
  onBootCompleted(listener: () => void): void {
    if (this.#booted) listener();
    else this.#bootListeners.add(listener);
  }

  #completeBoot(): void {
    this.props.setAll({
      'sys.boot_completed': '1',
      'dev.bootcomplete': '1',
      'init.svc.bootanim': 'stopped',
      'service.bootanim.exit': '1',
    });
    this.#booted = true;
    for (const listener of this.#bootListeners) {
      try {
        listener();
      } catch (error) {
        this.logger.error({ err: error }, 'boot-completed listener failed');
      }
    }
    this.#bootListeners.clear();
  }

  #dispatchDue(): void {
    this.alarms.dispatchDue();
    this.jobs.dispatchDue();
  }

  /** A fake process id for the package, stable while the phone runs. */
  pidOf(pkg: string): number {
    let pid = this.#pids.get(pkg);
    if (pid === undefined) {
      pid = this.#nextPid;
      this.#nextPid += 37;
      this.#pids.set(pkg, pid);
    }
    return pid;
  }

  /** The package's process is gone (`am force-stop`, uninstall, its instrumentation ended). */
  endProcess(pkg: string): void {
    this.#pids.delete(pkg);
    this.#services.delete(pkg);
  }

  /**
   * An app installed at run time was launched. Helper apps such as Appium Settings start their
   * foreground service from their launch activity and finish it; the lab phone models that by
   * running the package's `*ForegroundService` services in the foreground.
   */
  launchInstalledApp(pkg: string): void {
    const info = this.packages.get(pkg);
    if (info === undefined) return;
    this.pidOf(pkg);
    const foreground = (info.services ?? []).filter((s) => s.endsWith('ForegroundService'));
    if (foreground.length > 0) this.#services.set(pkg, foreground);
  }

  /** Foreground services running, by package. */
  runningServices(): Array<{ package: string; service: string }> {
    return [...this.#services.entries()].flatMap(([pkg, services]) =>
      services.map((service) => ({ package: pkg, service })),
    );
  }

  /** A tap at display coordinates: clicks the element drawn there. */
  tapAt(x: number, y: number): void {
    const hit = allNodes(this.uiLayout())
      .filter((n) => n.element !== undefined)
      .find(
        (n) => x >= n.bounds.left && x < n.bounds.right && y >= n.bounds.top && y < n.bounds.bottom,
      );
    if (hit?.element !== undefined) this.ui.click(hit.element);
  }

  /** Called when the phone stops, so long-running commands (`logcat`) end with it. */
  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#closeListeners.add(listener);
  }

  /** The view hierarchy of the screen in the foreground. */
  uiLayout(): UiNode {
    return layoutScreen(this.ui.current());
  }

  /** A PNG of the screen in the foreground (`screencap -p`, the UiAutomator2 screenshot). */
  screenshot(): Promise<Buffer> {
    return this.#renderer.png(this.uiLayout());
  }

  processes(): Array<{ pid: number; name: string; uid: number }> {
    return [...this.#pids.entries()].map(([name, pid]) => ({
      pid,
      name,
      uid: this.packages.get(name)?.uid ?? 10_099,
    }));
  }

  /** Stops timers and waits for the work in progress. Safe to call twice. */
  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers = [];
    this.#closed = true;
    for (const listener of this.#closeListeners) listener();
    this.#closeListeners.clear();
    await this.instrumentations.close();
    await this.runner.close();
  }
}
