/**
 * One error base for the whole project. `code` is stable kebab-case and names what to do
 * (`image-unreadable`, `emulator-boot-timeout`); errors cross process boundaries through
 * BullMQ, so they are recognised by `name` and `code`, not only by `instanceof`.
 */
export interface CanarytrapErrorOptions {
  cause?: unknown;
  /** A retry cannot fix it: the queue must not try again (becomes an UnrecoverableError). */
  permanent?: boolean;
  /** What the user should do about it, one sentence. */
  hint?: string;
  /** Expected failures (bad input) are not worth alerting on. */
  expected?: boolean;
  details?: Record<string, unknown>;
}

export class CanarytrapError extends Error {
  override readonly name: string = 'CanarytrapError';
  readonly code: string;
  readonly permanent: boolean;
  readonly expected: boolean;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: CanarytrapErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.permanent = options.permanent ?? false;
    this.expected = options.expected ?? false;
    this.hint = options.hint;
    this.details = options.details;
  }

  /** One line for a terminal: message and hint, no stack. */
  oneLine(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}

/** Bad input from the user: permanent, expected, never a stack trace. */
export class InputError extends CanarytrapError {
  override readonly name = 'InputError';
  constructor(
    code: string,
    message: string,
    options: Omit<CanarytrapErrorOptions, 'permanent' | 'expected'> = {},
  ) {
    super(code, message, { ...options, permanent: true, expected: true });
  }
}

export function isCanarytrapError(error: unknown): error is CanarytrapError {
  return (
    error instanceof CanarytrapError ||
    (typeof error === 'object' &&
      error !== null &&
      typeof (error as { code?: unknown }).code === 'string' &&
      (error as { name?: unknown }).name !== undefined &&
      String((error as { name?: unknown }).name).endsWith('Error') &&
      'permanent' in error)
  );
}

/** A message for a terminal or a report line: never a stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof CanarytrapError) return `${error.code}: ${error.oneLine()}`;
  if (error instanceof Error) return error.message;
  return String(error);
}
