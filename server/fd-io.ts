/**
 * What the /dev/fuse transports share (not exported from the package): the errno of a
 * failed fs call, and the synchronous reply write with the two errors that only mean the
 * kernel no longer wants the reply.
 */
import { Errno } from "./errno.js";

/** The errno number of a failed fs call, if it has one this platform names. */
export function errnoOf(err: unknown): number | undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code !== undefined && code in Errno ? Errno[code as keyof typeof Errno] : undefined;
}

/** Runs a synchronous reply write; false when the kernel no longer wants the reply. */
export function sendTo(write: () => void): boolean {
  try {
    write();
    return true;
  } catch (err) {
    const e = errnoOf(err);
    // ENOENT: the kernel dropped the request (interrupted); ENODEV: unmounted.
    if (e === Errno.ENOENT || e === Errno.ENODEV) return false;
    throw err;
  }
}
