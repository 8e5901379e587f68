import type { ConsoleReply, LabConsole } from '../services.ts';
import type { LabOs } from './lab-os.ts';

const UNKNOWN = "unknown command, try 'help'";

/**
 * The emulator console commands after authentication: `sms send`, `gsm call|accept|cancel|busy|list`,
 * `geo fix`, `power`, `avd name|status`, `kill`. Anything else is KO, as on the emulator.
 */
export class LabConsoleHandler implements LabConsole {
  constructor(
    private readonly os: LabOs,
    private readonly onKill: () => Promise<void>,
  ) {}

  async handle(commandLine: string): Promise<ConsoleReply> {
    const line = commandLine.trim();
    const [group = '', verb = '', ...rest] = line.split(/\s+/);
    switch (group) {
      case 'sms':
        return this.#sms(verb, line);
      case 'gsm':
        return this.#gsm(verb, rest);
      case 'geo':
        return this.#geo(verb, rest);
      case 'power':
      case 'network':
      case 'event':
      case 'rotate':
        return { ok: true, output: '' };
      case 'avd':
        if (verb === 'name') return { ok: true, output: this.os.avdName };
        if (verb === 'status') return { ok: true, output: 'virtual device is running' };
        return { ok: false, error: UNKNOWN };
      case 'help':
        return {
          ok: true,
          output:
            "Android console commands:\n\n    help|h|?         print a list of commands\n    avd              control virtual device execution\n    geo              Geo-location commands\n    gsm              GSM related commands\n    kill             kill the emulator instance\n    power            power related commands\n    sms              SMS related commands\n\ntry 'help <command>' for command-specific help",
        };
      default:
        return { ok: false, error: UNKNOWN };
    }
  }

  async kill(): Promise<void> {
    await this.onKill();
  }

  #sms(verb: string, line: string): ConsoleReply {
    if (verb !== 'send') return { ok: false, error: UNKNOWN };
    // The message is the rest of the line, spaces included.
    const m = /^sms\s+send\s+(\S+)\s+(.*)$/s.exec(line);
    if (!m?.[1] || m[2] === undefined || m[2] === '')
      return { ok: false, error: 'missing argument' };
    if (!/^\+?[\d\s-]+$/.test(m[1]))
      return { ok: false, error: 'bad phone number format, must be [+](0-9)*' };
    this.os.telephony.receiveSms(m[1], m[2]);
    return { ok: true, output: '' };
  }

  #gsm(verb: string, args: string[]): ConsoleReply {
    const number = args[0];
    switch (verb) {
      case 'call':
        if (number === undefined) return { ok: false, error: 'missing argument' };
        this.os.telephony.incomingCall(number);
        return { ok: true, output: '' };
      case 'accept':
        if (number === undefined) return { ok: false, error: 'missing argument' };
        return this.os.telephony.accept(number)
          ? { ok: true, output: '' }
          : { ok: false, error: 'no call with this number' };
      case 'cancel':
      case 'busy':
        if (number === undefined) return { ok: false, error: 'missing argument' };
        return this.os.telephony.hangUp(number)
          ? { ok: true, output: '' }
          : { ok: false, error: 'no call with this number' };
      case 'list':
        return { ok: true, output: this.os.telephony.listCalls().join('\n') };
      case 'status':
      case 'voice':
      case 'data':
      case 'signal':
        return { ok: true, output: '' };
      default:
        return { ok: false, error: UNKNOWN };
    }
  }

  #geo(verb: string, args: string[]): ConsoleReply {
    if (verb !== 'fix')
      return verb === 'nmea' ? { ok: true, output: '' } : { ok: false, error: UNKNOWN };
    const [lon, lat, alt] = args.map(Number);
    if (lon === undefined || lat === undefined || Number.isNaN(lon) || Number.isNaN(lat)) {
      return { ok: false, error: 'geo fix requires longitude and latitude' };
    }
    this.os.telephony.setLocation(
      lon,
      lat,
      alt === undefined || Number.isNaN(alt) ? undefined : alt,
    );
    return { ok: true, output: '' };
  }
}
