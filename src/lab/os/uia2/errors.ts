/**
 * WebDriver errors as the UiAutomator2 server reports them: an HTTP status and a body
 * `{ sessionId, value: { error, message, stacktrace } }`.
 */
export class WebDriverError extends Error {
  override readonly name = 'WebDriverError';
  readonly status: number;
  readonly error: string;

  constructor(status: number, error: string, message: string) {
    super(message);
    this.status = status;
    this.error = error;
  }
}

export const noSuchElement = (): WebDriverError =>
  new WebDriverError(
    404,
    'no such element',
    'An element could not be located on the page using the given search parameters.',
  );

export const staleElement = (id: string): WebDriverError =>
  new WebDriverError(
    404,
    'stale element reference',
    `The element '${id}' does not exist in DOM anymore`,
  );

export const noSuchSession = (id: string): WebDriverError =>
  new WebDriverError(404, 'invalid session id', `The session ${id} cannot be found`);

export const unknownCommand = (method: string, path: string): WebDriverError =>
  new WebDriverError(
    404,
    'unknown command',
    `The requested resource could not be found, or a request was received using an HTTP method that is not supported by the mapped resource: ${method} ${path}`,
  );

export const invalidArgument = (message: string): WebDriverError =>
  new WebDriverError(400, 'invalid argument', message);

export const invalidSelector = (message: string): WebDriverError =>
  new WebDriverError(400, 'invalid selector', message);
