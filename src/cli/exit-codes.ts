/** Exit codes of every command (documented in README.md). */
export const EXIT = {
  ok: 0,
  /** A bug or an unexpected failure. */
  internal: 1,
  /** Wrong arguments. */
  usage: 2,
  /** The input (image, capture, run id) is bad: the message says what is wrong. */
  input: 3,
  /** The analysis ran and failed. */
  runFailed: 4,
  /** Something this machine needs is missing (Redis, adb, a tool): the message says what to install. */
  environment: 5,
} as const;
