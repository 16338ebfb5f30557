/**
 * The reader thread of {@link ThreadFdTransport}: reads /dev/fuse with
 * blocking reads into the free slots of a shared buffer, one message per
 * slot, and publishes each slot in a ring the main thread drains. It wakes the
 * main thread (one postMessage) only when the main thread said it went idle;
 * while the main thread is busy, messages just queue up in the ring. Runs
 * until the connection ends (ENODEV after unmount) or the fd is closed.
 */
import { readSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { CTRL, slotLayout, type ReaderThreadData } from "./reader-layout.js";

const { fd, bufferSize, slots, control, data } = workerData as ReaderThreadData;
const c = new Int32Array(control);
const bytes = new Uint8Array(data);
const port = parentPort!;
const L = slotLayout(slots);

/** Error codes after which the read is simply tried again. */
const RETRY = new Set(["EINTR", "EAGAIN", "ENOENT"]);
/** Error codes that mean the connection is over: not an error. */
const GONE = new Set(["ENODEV", "EBADF"]);

/** A free slot, waiting for the main thread to release one if none is; -1 once the transport is closed. */
function freeSlot(from: number): number {
  for (;;) {
    const seq = Atomics.load(c, CTRL.FREE_SEQ);
    for (let k = 0; k < slots; k++) {
      const i = (from + k) % slots;
      if (Atomics.load(c, L.state + i) === 0) return i;
    }
    if (Atomics.load(c, CTRL.CLOSED) !== 0) return -1;
    Atomics.store(c, CTRL.WAITING, 1);
    Atomics.wait(c, CTRL.FREE_SEQ, seq);
    Atomics.store(c, CTRL.WAITING, 0);
  }
}

function run(): { error?: string } {
  let produced = 0;
  let cursor = 0;
  for (;;) {
    const slot = freeSlot(cursor);
    if (slot < 0) return {};
    cursor = (slot + 1) % slots;
    let n: number;
    try {
      n = readSync(fd, bytes, slot * bufferSize, bufferSize, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "";
      if (RETRY.has(code)) continue;
      if (GONE.has(code)) return {};
      return { error: String((err as Error).message ?? err) };
    }
    if (n === 0) return {};
    c[L.length + slot] = n;
    Atomics.store(c, L.state + slot, 1);
    c[L.ring + (produced % slots)] = slot;
    Atomics.store(c, CTRL.PRODUCED, ++produced);
    // Wake the main thread only if it is waiting; a busy one finds the message when it drains.
    if (Atomics.compareExchange(c, CTRL.IDLE, 1, 0) === 1) port.postMessage(0);
  }
}

port.postMessage({ end: true, ...run() });
