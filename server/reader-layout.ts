/**
 * The shared memory between {@link ThreadFdTransport} (server/transport.ts)
 * and its reader thread (server/reader-thread.ts): an Int32Array of control
 * words and per-slot arrays, and one data buffer cut into slots of
 * `bufferSize` bytes, one message each.
 */

/** Indexes of the control words. */
export const CTRL = {
  /** Messages the reader published so far. */
  PRODUCED: 0,
  /** 1: the main thread drained everything and waits for a postMessage. */
  IDLE: 1,
  /** Bumped by the main thread on every release (the reader waits on it when all slots are taken). */
  FREE_SEQ: 2,
  /** 1: the reader is waiting on FREE_SEQ (the main thread only notifies then). */
  WAITING: 3,
  /** 1: the transport is closed; a reader waiting for a slot ends. */
  CLOSED: 4,
} as const;

/** Where the per-slot arrays start: state (0 free, 1 holds a message), message length, and the ring of published slots. */
export function slotLayout(slots: number): {
  state: number;
  length: number;
  ring: number;
  words: number;
} {
  const state = 8;
  return { state, length: state + slots, ring: state + 2 * slots, words: state + 3 * slots };
}

export interface ReaderThreadData {
  fd: number;
  bufferSize: number;
  slots: number;
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
}
