/**
 * File system errors with the errno names Node uses, so the adb sync server and the shell can
 * turn them into the texts a device prints ("No such file or directory", "Read-only file system").
 */
export type DeviceFsErrno =
  | 'ENOENT'
  | 'EACCES'
  | 'EROFS'
  | 'ENOTDIR'
  | 'EISDIR'
  | 'ENOTEMPTY'
  | 'EEXIST'
  | 'EBUSY'
  | 'EPERM'
  | 'EINVAL';

const TEXT: Record<DeviceFsErrno, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EROFS: 'Read-only file system',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  ENOTEMPTY: 'Directory not empty',
  EEXIST: 'File exists',
  EBUSY: 'Device or resource busy',
  EPERM: 'Operation not permitted',
  EINVAL: 'Invalid argument',
};

export class DeviceFsError extends Error {
  override readonly name = 'DeviceFsError';
  /** The text the device prints for this errno. */
  readonly reason: string;

  constructor(
    readonly code: DeviceFsErrno,
    readonly path: string,
  ) {
    super(`${path}: ${TEXT[code]}`);
    this.reason = TEXT[code];
  }
}

export function isDeviceFsError(error: unknown): error is DeviceFsError {
  return error instanceof DeviceFsError;
}

/** Maps a Node fs error on a host path to the device error for the device path. */
export function fromHostError(error: unknown, devicePath: string): Error {
  const code = (error as { code?: unknown } | null)?.code;
  if (
    code === 'ENOENT' ||
    code === 'ENOTDIR' ||
    code === 'EISDIR' ||
    code === 'ENOTEMPTY' ||
    code === 'EEXIST' ||
    code === 'EACCES'
  ) {
    return new DeviceFsError(code, devicePath);
  }
  return error instanceof Error ? error : new Error(String(error));
}
