/**
 * Errno values and the error a handler throws to answer a request with one.
 * The numbers come from Node's own table (os.constants.errno), which is the
 * running kernel's ABI, so nothing here hard-codes Linux numbers.
 */
import { constants } from "node:os";

/** Positive errno numbers of this platform, e.g. `Errno.ENOENT`. */
export const Errno = constants.errno;

/**
 * Thrown by a handler to answer with `-errno`. Any other exception becomes EIO,
 * so a bug in one handler fails one request instead of the whole loop.
 *
 * It carries no stack trace: it is an answer, not a bug, and it is thrown for
 * every miss (a LOOKUP of a name that is not there, before each create), where
 * capturing the stack cost more than the rest of the request.
 */
export class FuseError extends Error {
  /** Positive errno (ENOENT, not -ENOENT). */
  readonly errno: number;

  constructor(errno: number, message?: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message ?? `${errnoName(errno)} (${errno})`);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = "FuseError";
    this.errno = errno;
  }
}

const NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!NAMES.has(value)) NAMES.set(value, name);
}

/** "ENOENT" for 2; the number as text for values this platform does not name. */
export function errnoName(errno: number): string {
  return NAMES.get(Math.abs(errno)) ?? String(errno);
}

/** Shorthand for `throw new FuseError(errno)` in expression position. */
export function fail(errno: number, message?: string): never {
  throw new FuseError(errno, message);
}
