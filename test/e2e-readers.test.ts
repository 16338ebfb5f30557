/**
 * The three ways the server reads /dev/fuse serve the same filesystem: memfs mounted
 * through the kernel with each reader, files written in 1 MiB writes and read back, many
 * requests at once through few slots (the poll reader pauses when its buffers are all in
 * the server and resumes as replies go out), and the descriptor closed exactly once. The
 * default is the poll reader; a process run with --pending-deprecation (which would see
 * process.binding's DEP0111) reads with a thread and prints no warning.
 * Skips (saying why) without root or /dev/fuse.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fstatSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { MemFs } from "../examples/memfs/memfs.js";
import { mount, PollFdTransport } from "../server/index.js";
import { whyNoFuseMount } from "./helpers/fuse-env.js";
import { skipOrFail } from "./helpers/skip.js";

const run = promisify(execFile);

/**
 * The client: a 3 MiB file written in 1 MiB writes and read back, 16 small files, then 64
 * stats at once (async fs: libuv's thread pool issues them in parallel).
 */
const CLIENT = `
  import { open, readFile, stat, writeFile } from "node:fs/promises";
  import { join } from "node:path";
  const dir = process.argv[1];
  const data = new Uint8Array(3 * 1024 * 1024 + 123);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 12)) & 255;
  const f = await open(join(dir, "big"), "w");
  for (let at = 0; at < data.length; at += 1 << 20) await f.write(data, at, Math.min(1 << 20, data.length - at), at);
  await f.close();
  const back = new Uint8Array(await readFile(join(dir, "big")));
  const same = back.length === data.length && back.every((b, i) => b === data[i]);
  await Promise.all(Array.from({ length: 16 }, (_, i) => writeFile(join(dir, "f" + i), "file " + i + "\\n")));
  const sizes = await Promise.all(Array.from({ length: 64 }, (_, i) => stat(join(dir, "f" + (i % 16))).then((s) => s.size)));
  console.log(JSON.stringify({ same, bytes: back.length, sizes }));
`;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

for (const reader of ["poll", "thread", "pool"] as const) {
  test(`reader ${reader}: memfs serves writes, reads and 64 concurrent requests through 2 in flight`, async (t) => {
    const why = whyNoFuseMount();
    if (why) return skipOrFail(t, why);
    const dir = mkdtempSync(join(tmpdir(), `fuse-uapi-reader-${reader}-`));
    // maxInFlight 2: the poll reader gets 3 buffers, the thread reader 2 slots.
    const m = await mount(dir, new MemFs(), { name: "memfs", reader, maxInFlight: 2 });
    const fd = m.fd;
    try {
      assert.equal(m.reader, reader);
      // All I/O from a child process: the server's own process must not wait on its mount
      // (and the pool reader shares libuv's thread pool with async fs calls).
      const r = await run(process.execPath, ["--input-type=module", "-e", CLIENT, dir], {
        timeout: 60_000,
      });
      const got = JSON.parse(r.stdout) as { same: boolean; bytes: number; sizes: number[] };
      assert.equal(got.bytes, 3 * 1024 * 1024 + 123);
      assert.equal(got.same, true, "the 3 MiB file reads back as written");
      assert.deepEqual(
        got.sizes,
        Array.from({ length: 64 }, (_, i) => `file ${i % 16}\n`.length),
      );
    } finally {
      await m.close();
      rmSync(dir, { recursive: true, force: true });
    }
    // Closed once, by whoever owns it (the poll reader's handle, or the mount).
    assert.throws(() => fstatSync(fd), { code: "EBADF" });
  });
}

test("the default reader is poll where Node gives its handle; an unknown reader is refused", async (t) => {
  const why = whyNoFuseMount();
  if (why) return skipOrFail(t, why);
  assert.equal(PollFdTransport.available(), true, "Node 20 gives pipe_wrap");
  const dir = mkdtempSync(join(tmpdir(), "fuse-uapi-reader-default-"));
  try {
    const m = await mount(dir, new MemFs(), { name: "memfs" });
    try {
      assert.equal(m.reader, "poll");
    } finally {
      await m.close();
    }
    await assert.rejects(
      mount(dir, new MemFs(), { name: "memfs", reader: "epoll" as never }),
      (e: Error) =>
        e instanceof TypeError && /reader must be "poll", "thread" or "pool"/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("with --pending-deprecation the server reads with a thread and prints no deprecation", async (t) => {
  const why = whyNoFuseMount();
  if (why) return skipOrFail(t, why);
  const dir = mkdtempSync(join(tmpdir(), "fuse-uapi-reader-pending-"));
  const script = `
    import { mount } from ${JSON.stringify(join(ROOT, "dist", "server", "index.js"))};
    import { MemFs } from ${JSON.stringify(join(ROOT, "dist", "examples", "memfs", "memfs.js"))};
    const m = await mount(${JSON.stringify(dir)}, new MemFs(), { name: "memfs" });
    console.log(m.reader);
    await m.close();
  `;
  try {
    const r = await run(
      process.execPath,
      ["--pending-deprecation", "--input-type=module", "-e", script],
      { timeout: 30_000 },
    );
    assert.equal(r.stdout.trim(), "thread");
    assert.doesNotMatch(r.stderr, /DEP0111|DeprecationWarning/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
