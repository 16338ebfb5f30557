/**
 * What the /dev/fuse transports share (not exported from the package): the errno of a
 * failed fs call, and the synchronous reply write with the two errors that only mean the
 * kernel no longer wants the reply.
 */
import { writeSync, writevSync } from "node:fs";
import { Errno } from "./errno.js";

/** The errno number of a failed fs call, if it has one this platform names. */
export function errnoOf(err: unknown): number | undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code !== undefined && code in Errno ? Errno[code as keyof typeof Errno] : undefined;
}

/** Writes one reply (its first `length` bytes) in one write; false when the kernel no longer wants it. */
export function writeMessage(fd: number, message: Uint8Array, length: number): boolean {
  try {
    writeSync(fd, message, 0, length);
    return true;
  } catch (err) {
    return notWanted(err);
  }
}

/** Writes one reply given in parts (header, then data) in one writev; false as {@link writeMessage}. */
export function writeParts(fd: number, parts: readonly Uint8Array[]): boolean {
  try {
    writevSync(fd, parts as Uint8Array[]);
    return true;
  } catch (err) {
    return notWanted(err);
  }
}

/** False for the errors that only mean the reply is not wanted any more; anything else is thrown. */
function notWanted(err: unknown): false {
  const e = errnoOf(err);
  // ENOENT: the kernel dropped the request (interrupted); ENODEV: unmounted.
  if (e === Errno.ENOENT || e === Errno.ENODEV) return false;
  throw err;
}
