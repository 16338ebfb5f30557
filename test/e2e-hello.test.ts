/**
 * The README's smallest filesystem, mounted for real: `ls` and `cat` through
 * the kernel. Skips (saying why) without root or /dev/fuse.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { hello } from "../examples/hello/hello.js";
import { mount } from "../server/index.js";
import { whyNoFuseMount } from "./helpers/fuse-env.js";
import { skipOrFail } from "./helpers/skip.js";

const run = promisify(execFile);

test("hello: the README example mounts and serves /hello", async (t) => {
  const reason = whyNoFuseMount();
  if (reason) return skipOrFail(t, reason);
  const dir = mkdtempSync(join(tmpdir(), "fuse-uapi-hello-"));
  const m = await mount(dir, hello, { name: "hello" });
  try {
    // A child process: the server's own process must never touch its mount synchronously.
    const ls = await run("ls", ["-l", dir], { timeout: 10_000 });
    assert.match(ls.stdout, /-r--r--r-- +1 .* 13 .* hello\n/);
    const cat = await run("cat", [join(dir, "hello")], { timeout: 10_000 });
    assert.equal(cat.stdout, "hello, world\n");
    await assert.rejects(
      run("cat", [join(dir, "missing")], { timeout: 10_000 }),
      /No such file or directory/,
    );
  } finally {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
