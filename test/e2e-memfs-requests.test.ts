/**
 * What memfs's choices save, counted in requests the real kernel sends:
 * - FOPEN_KEEP_CACHE: a file read once is read from the page cache after the next open (no READ);
 * - `btime: false`: a Node `fs.stat` of a file just created costs no STATX (the kernel answers
 *   from the attributes CREATE gave it, as for a libfuse 2 server), while the default memfs gets
 *   one STATX and gives the birth time.
 * The I/O is asynchronous (libuv's thread pool): a synchronous call on the mount from the
 * server's own thread would wait for a reply that thread cannot send.
 * Needs root, /dev/fuse and dd; skips with the reason otherwise (fails under CI).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { promisify } from "node:util";
import {
  FUSE_ATOMIC_O_TRUNC,
  FuseOpcode,
  decodeFuseInHeader,
} from "../generated/base-7.45/index.js";
import { MemFs, type MemFsOptions } from "../examples/memfs/memfs.js";
import { mount, type FuseMount } from "../server/index.js";
import { whyNoFuseMount } from "./helpers/fuse-env.js";
import { skipOrFail } from "./helpers/skip.js";

const execFileAsync = promisify(execFile);

/** Mounts memfs with `opts`, runs `body` with the mountpoint and a per-opcode request counter, unmounts. */
async function withMemfs(
  t: TestContext,
  opts: MemFsOptions,
  body: (mnt: string, count: (opcode: number) => number) => Promise<void> | void,
): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), "memfs-requests-"));
  const mnt = join(tmp, "mnt");
  mkdirSync(mnt);
  const seen = new Map<number, number>();
  let m: FuseMount | undefined;
  try {
    m = await mount(mnt, new MemFs(opts), {
      name: "memfs",
      flags: BigInt(FUSE_ATOMIC_O_TRUNC),
      handleSignals: false,
      onError: (e) => t.diagnostic(`handler error: ${String(e)}`),
      onRequest: (bytes) => {
        const { opcode } = decodeFuseInHeader(bytes, 0, { hostEndian: true });
        seen.set(opcode, (seen.get(opcode) ?? 0) + 1);
      },
    });
    await body(mnt, (opcode) => seen.get(opcode) ?? 0);
  } finally {
    await m?.close();
    await rm(tmp, { recursive: true, force: true });
  }
}

test("memfs: a file's pages stay cached over opens (FOPEN_KEEP_CACHE): no READ the second time", async (t) => {
  const reason = whyNoFuseMount([{ command: "dd", hint: "install coreutils" }]);
  if (reason) return skipOrFail(t, reason);
  await withMemfs(t, {}, async (mnt, count) => {
    const path = join(mnt, "f");
    const bytes = new Uint8Array(256 * 1024).map((_, i) => (i * 7) & 0xff);
    await writeFile(path, bytes);
    // The written pages are cached: drop them (posix_fadvise DONTNEED, from another process).
    await execFileAsync("dd", [`if=${path}`, "iflag=nocache", "count=0", "status=none"]);
    const readsAfterWrite = count(FuseOpcode.FUSE_READ);
    assert.deepEqual(new Uint8Array(await readFile(path)), bytes, "first read: the bytes written");
    const readsAfterFirst = count(FuseOpcode.FUSE_READ);
    assert.ok(readsAfterFirst > readsAfterWrite, "the first read after the drop sent READs");
    assert.deepEqual(new Uint8Array(await readFile(path)), bytes, "second read: the same bytes");
    assert.equal(
      count(FuseOpcode.FUSE_READ),
      readsAfterFirst,
      "the second open + read sent no READ: the page cache was kept",
    );
    t.diagnostic(
      `READs: ${readsAfterWrite} after the write, ${readsAfterFirst} after the first read, ${count(FuseOpcode.FUSE_READ)} after the second`,
    );
    // A change through the mount is seen after the next open (the kernel updated its cache).
    await writeFile(path, "changed");
    assert.equal(await readFile(path, "utf8"), "changed");
  });
});

test("memfs: fs.stat of a new file sends a STATX and gives the birth time; with btime: false it sends none", async (t) => {
  const reason = whyNoFuseMount();
  if (reason) return skipOrFail(t, reason);
  const before = Date.now();
  await withMemfs(t, {}, async (mnt, count) => {
    const path = join(mnt, "a");
    await writeFile(path, "x");
    const st = await stat(path);
    assert.equal(
      count(FuseOpcode.FUSE_STATX),
      1,
      "one STATX: the birth time is not in CREATE's reply",
    );
    assert.ok(
      st.birthtimeMs >= before - 1000 && st.birthtimeMs <= Date.now() + 1000,
      `birth time ${st.birthtime.toISOString()} is now`,
    );
  });
  await withMemfs(t, { btime: false }, async (mnt, count) => {
    const path = join(mnt, "a");
    await writeFile(path, "x");
    const st = await stat(path);
    const asked = count(FuseOpcode.FUSE_STATX);
    assert.ok(asked <= 1, `no STATX handler: the kernel asks once (ENOSYS), got ${asked}`);
    assert.equal(st.size, 1);
    for (let i = 0; i < 20; i++) {
      await writeFile(join(mnt, `n${i}`), "");
      await stat(join(mnt, `n${i}`));
    }
    assert.equal(count(FuseOpcode.FUSE_STATX), asked, "20 more create + stat: no STATX");
  });
});
