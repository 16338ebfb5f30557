/**
 * PollFdTransport's buffer accounting, without a mount: over a FIFO (any pollable descriptor
 * serves; /dev/fuse adds only the one-message-per-read contract, so each message here is
 * written after the previous one was read). Three slots: one is always the next read's, so
 * two messages may be held; a third waits until one is released, and a slot released twice
 * is still only one slot.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { constants, fstatSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { PollFdTransport } from "../server/index.js";

const text = (m: Uint8Array | null) => (m === null ? null : new TextDecoder().decode(m));

/** A read that has not settled within `ms` (the transport is paused) gives "pending". */
function within<T>(p: Promise<T>, ms: number): Promise<T | "pending"> {
  return Promise.race([p, new Promise<"pending">((r) => setTimeout(() => r("pending"), ms))]);
}

test("poll transport: two messages held of three slots, a third waits for a release; a double release frees one slot", async () => {
  assert.equal(PollFdTransport.available(), true);
  const dir = mkdtempSync(join(tmpdir(), "fuse-uapi-poll-"));
  const fifo = join(dir, "fifo");
  execFileSync("mkfifo", [fifo]);
  const fd = openSync(fifo, constants.O_RDWR);
  const t = new PollFdTransport(fd, 64, 3);
  try {
    writeSync(fd, "one");
    const m1 = await t.read();
    assert.equal(text(m1), "one");
    t.release(m1!);
    t.release(m1!); // Ignored: the slot is free already.
    writeSync(fd, "two");
    const m2 = await t.read();
    writeSync(fd, "three");
    const m3 = await t.read();
    assert.deepEqual([text(m2), text(m3)], ["two", "three"]);
    // Both held, and the third slot is the next read's: reading pauses.
    writeSync(fd, "four");
    const next = t.read();
    assert.equal(await within(next, 200), "pending", "no read while two messages are held");
    assert.deepEqual([text(m2), text(m3)], ["two", "three"], "held messages stay as read");
    t.release(m2!);
    assert.equal(text(await next), "four");
    assert.equal(text(m3), "three", "still as read after the next read");
  } finally {
    t.close();
    rmSync(dir, { recursive: true, force: true });
  }
  // The transport closed the descriptor with its handle.
  assert.throws(() => fstatSync(fd), { code: "EBADF" });
  assert.equal(await t.read(), null, "after close, reads end");
});
