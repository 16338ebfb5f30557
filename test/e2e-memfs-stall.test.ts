/**
 * One request must not stall the mount: memfs mounted through the kernel,
 * test/e2e/stall.py makes a 16 TiB sparse file and, while a second process
 * reads another file again and again, asks SEEK_DATA/SEEK_HOLE on it,
 * fallocates 4 TiB (ENOSPC), reads in the hole and copies 256 MiB.
 *
 * memfs walked every page for those: one SEEK_DATA took 27 s and the other
 * process's `cat` waited as long. With extents they answer in microseconds,
 * and a long copy yields between chunks. The assertions check the answers
 * (behaviour) and hold the times to generous bounds (1 s, against a 2000x
 * effect) so a loaded machine does not fail them; the measured figures are
 * printed as diagnostics.
 *
 * Needs root, /dev/fuse and python3; skips with the reason otherwise.
 */
import assert from "node:assert/strict";
import { skipOrFail } from "./helpers/skip.js";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { FUSE_ATOMIC_O_TRUNC } from "../generated/base-7.45/index.js";
import { MemFs } from "../examples/memfs/memfs.js";
import { fuseMounts, mount, type FuseMount } from "../server/index.js";
import { whyNoFuseMount } from "./helpers/fuse-env.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SCRIPT = join(ROOT, "test/e2e/stall.py");
const TiB = 2 ** 40;
/** Generous: the effect is 27 s vs. microseconds, and the machine may be busy. */
const BOUND_MS = 1000;

function whyNot(): string | undefined {
  return whyNoFuseMount([{ command: "python3", hint: "install Debian's python3" }]);
}

/** Runs python3 on the script (never synchronously: it works on our own mount). */
function runScript(mnt: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn("python3", [SCRIPT, mnt], {
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 240_000,
      killSignal: "SIGKILL",
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

interface Call {
  result: unknown;
  ms: number;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, median: s[Math.floor(s.length / 2)] ?? NaN, max: s[s.length - 1] ?? NaN };
};

test(
  "SEEK_DATA on a 16 TiB sparse file answers at once while another process reads unhindered",
  { timeout: 300_000 },
  async (t) => {
    const reason = whyNot();
    if (reason) return skipOrFail(t, reason);
    const tmp = await mkdtemp(join(tmpdir(), "memfs-stall-"));
    const mnt = join(tmp, "mnt");
    mkdirSync(mnt);
    let m: FuseMount | undefined;
    try {
      // 1 GiB capacity (the default): a 4 TiB fallocate must fail with ENOSPC, at once.
      m = await mount(mnt, new MemFs(), {
        name: "memfs",
        flags: BigInt(FUSE_ATOMIC_O_TRUNC),
        handleSignals: false,
        onError: (e) => t.diagnostic(`handler error: ${String(e)}`),
      });
      const r = await runScript(mnt);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as {
        calls: Record<string, Call & { ms: number | number[] }>;
        reads: { all_ok: boolean; count: number; during_seeks: number[]; during_copy: number[] };
      };
      const c = out.calls;

      // What each call answered: as tmpfs would.
      const seekData = c["SEEK_DATA 0"]!;
      assert.equal(
        seekData.result,
        16 * TiB - 4096,
        "SEEK_DATA finds the one page of data at the end",
      );
      assert.equal(c["SEEK_HOLE 0"]!.result, 0);
      assert.equal(c["SEEK_HOLE at the data"]!.result, 16 * TiB, "the end of the file is a hole");
      assert.equal(c["SEEK_DATA past the data"]!.result, "ENXIO");
      assert.equal(c["fallocate 4 TiB"]!.result, "ENOSPC");
      assert.equal(c["fallocate KEEP_SIZE at 20 TiB"]!.result, 0);
      assert.equal(c["read 8 bytes at 8 TiB"]!.result, "0000000000000000");
      assert.equal(c["blocks"], 16, "two pages take space: the data and the reserved one");
      assert.equal(c["copy_file_range 256 MiB"]!.result, 256 * 2 ** 20);
      assert.equal(c["copy size"], 256 * 2 ** 20);
      assert.equal(out.reads.all_ok, true, "the other process read the right bytes every time");

      const seekMs = seekData.ms as number[];
      const seeks = stats(seekMs);
      const readsDuringSeeks = stats(out.reads.during_seeks);
      const readsDuringCopy = stats(out.reads.during_copy);
      const single = (k: string) => (c[k]!.ms as number).toFixed(3);
      t.diagnostic(
        `SEEK_DATA on 16 TiB: median ${seeks.median.toFixed(3)} ms, max ${seeks.max.toFixed(3)} ms over ${seeks.n} calls`,
      );
      t.diagnostic(
        `SEEK_HOLE ${single("SEEK_HOLE 0")} ms; fallocate 4 TiB -> ENOSPC in ${single("fallocate 4 TiB")} ms; read at 8 TiB ${single("read 8 bytes at 8 TiB")} ms`,
      );
      t.diagnostic(
        `other process's reads (open + 1 MiB + close) during the seeks: ${readsDuringSeeks.n}, median ${readsDuringSeeks.median} ms, max ${readsDuringSeeks.max} ms`,
      );
      t.diagnostic(
        `copy_file_range 256 MiB: ${single("copy_file_range 256 MiB")} ms; reads meanwhile: ${readsDuringCopy.n}, median ${readsDuringCopy.median} ms, max ${readsDuringCopy.max} ms`,
      );

      for (const k of [
        "SEEK_HOLE 0",
        "SEEK_HOLE at the data",
        "SEEK_DATA past the data",
        "fallocate 4 TiB",
        "fallocate KEEP_SIZE at 20 TiB",
        "read 8 bytes at 8 TiB",
      ]) {
        assert.ok((c[k]!.ms as number) < BOUND_MS, `${k} took ${c[k]!.ms} ms`);
      }
      assert.ok(seeks.max < BOUND_MS, `SEEK_DATA took up to ${seeks.max} ms`);
      assert.ok(readsDuringSeeks.n > 0, "the other process read during the seeks");
      assert.ok(
        readsDuringSeeks.max < BOUND_MS,
        `a read waited ${readsDuringSeeks.max} ms during the seeks`,
      );
      // The copy takes a while; reads go on meanwhile (it yields between 1 MiB chunks).
      assert.ok(
        readsDuringCopy.n > 1,
        `only ${readsDuringCopy.n} read(s) during a ${single("copy_file_range 256 MiB")} ms copy`,
      );
      assert.ok(
        readsDuringCopy.max < BOUND_MS,
        `a read waited ${readsDuringCopy.max} ms during the copy`,
      );
    } finally {
      await m?.close().catch(() => {});
      await rm(tmp, { recursive: true, force: true }).catch(() => {});
    }
    assert.equal(
      fuseMounts().filter((x) => x.mountpoint.startsWith(tmp)).length,
      0,
      "a mount was left behind",
    );
  },
);
