/**
 * The mount's read-ahead window (MountOptions.readAhead) and READ size (MountOptions.maxRead),
 * proven on the kernel: the kernel starts a FUSE mount at 128 KiB and INIT can only lower it,
 * so by default the mount raises it to 1 MiB through /sys/class/bdi after INIT and passes
 * max_read=256 KiB. A cold sequential read then reaches the server in 256 KiB READs (four per
 * window), or in READs as large as max_pages allows (1 MiB) with maxRead "kernel", where the
 * kernel's window gives 128 KiB READs.
 * The READ sizes are what the kernel sent, seen by the session's onRequest hook; the file
 * is read by a child process (the server's process must not wait on its own mount).
 * Skips (saying why) without root or /dev/fuse; under CI that is a failure.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { MemFs } from "../examples/memfs/memfs.js";
import { BASE_PROTOCOL, mount, type MountOptions } from "../server/index.js";
import { whyNoFuseMount } from "./helpers/fuse-env.js";
import { skipOrFail } from "./helpers/skip.js";

const run = promisify(execFile);
const KiB = 1024;
const MiB = 1024 * KiB;
const FILE_SIZE = 16 * MiB;

/** Writes the file, drops its cached pages (posix_fadvise DONTNEED, as dd iflag=nocache does), reads it in 1 MiB reads. */
const CLIENT = `
  import { closeSync, fdatasyncSync, openSync, readSync, writeSync } from "node:fs";
  import { execFileSync } from "node:child_process";
  const [file, size] = [process.argv[1], Number(process.argv[2])];
  const block = new Uint8Array(1 << 20);
  for (let i = 0; i < block.length; i++) block[i] = (i * 131 + 17) & 255;
  let fd = openSync(file, "w");
  for (let at = 0; at < size; at += block.length) writeSync(fd, block, 0, block.length, at);
  fdatasyncSync(fd);
  closeSync(fd);
  execFileSync("dd", ["if=" + file, "iflag=nocache", "count=0", "status=none"]);
  console.log("cold");
  fd = openSync(file, "r");
  let total = 0;
  for (let n; (n = readSync(fd, block, 0, block.length, null)) > 0; ) total += n;
  closeSync(fd);
  console.log(total);
`;

/** Mounts memfs with `options`, runs the client, returns the window and the size of every READ after the cache drop. */
async function coldRead(
  options: Pick<MountOptions, "readAhead" | "maxRead">,
): Promise<{ window: number | undefined; sysfs: number; reads: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), "fuse-uapi-read-ahead-"));
  const reads: number[] = [];
  const READ = BASE_PROTOCOL.opcodes.FUSE_READ;
  const m = await mount(dir, new MemFs(), {
    name: "memfs",
    ...options,
    onRequest: (bytes) => {
      const h = BASE_PROTOCOL.decodeHeader(bytes);
      if (h.opcode !== READ) return;
      const req = BASE_PROTOCOL.decodeRequest(bytes, { minor: BASE_PROTOCOL.minor }) as {
        read_in: { size: number };
      };
      reads.push(req.read_in.size);
    },
  });
  try {
    assert.ok(m.device, "the mount's device number is known");
    const sysfs = Number(readFileSync(`/sys/class/bdi/${m.device}/read_ahead_kb`, "utf8")) * KiB;
    const r = await run(
      process.execPath,
      ["--input-type=module", "-e", CLIENT, join(dir, "seq"), String(FILE_SIZE)],
      { timeout: 60_000 },
    );
    assert.deepEqual(r.stdout.trim().split("\n"), ["cold", String(FILE_SIZE)]);
    return { window: m.readAhead, sysfs, reads };
  } finally {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test("by default the window is 1 MiB and a cold read comes in 256 KiB READs", async (t) => {
  const why = whyNoFuseMount([{ command: "dd", hint: "install coreutils" }]);
  if (why) return skipOrFail(t, why);
  const { window, sysfs, reads } = await coldRead({});
  assert.equal(window, MiB);
  assert.equal(sysfs, MiB);
  // Writes went to memfs with the page cache written through; after the drop, every page comes
  // back through READ: at least the file's bytes asked for, the largest READ max_read.
  const asked = reads.reduce((a, b) => a + b, 0);
  assert.ok(asked >= FILE_SIZE, `READs asked for ${asked} bytes of ${FILE_SIZE}`);
  assert.equal(Math.max(...reads), 256 * KiB, `READ sizes: ${reads.join(", ")}`);
  assert.ok(reads.length <= 2 * (FILE_SIZE / (256 * KiB)), `${reads.length} READs for 16 MiB`);
});

test('maxRead "kernel" lets READs grow to max_pages: 1 MiB READs in the 1 MiB window', async (t) => {
  const why = whyNoFuseMount([{ command: "dd", hint: "install coreutils" }]);
  if (why) return skipOrFail(t, why);
  const { window, reads } = await coldRead({ maxRead: "kernel" });
  assert.equal(window, MiB);
  assert.ok(reads.reduce((a, b) => a + b, 0) >= FILE_SIZE);
  assert.equal(Math.max(...reads), MiB, `READ sizes: ${reads.join(", ")}`);
  assert.ok(reads.length <= 2 * (FILE_SIZE / MiB), `${reads.length} READs for 16 MiB`);
});

test('readAhead "kernel" keeps the kernel\'s 128 KiB window: READs of 128 KiB at most', async (t) => {
  const why = whyNoFuseMount([{ command: "dd", hint: "install coreutils" }]);
  if (why) return skipOrFail(t, why);
  const { window, sysfs, reads } = await coldRead({ readAhead: "kernel" });
  assert.equal(window, 128 * KiB);
  assert.equal(sysfs, 128 * KiB);
  assert.ok(reads.reduce((a, b) => a + b, 0) >= FILE_SIZE);
  assert.equal(Math.max(...reads), 128 * KiB, `READ sizes: ${reads.join(", ")}`);
  assert.ok(reads.length >= FILE_SIZE / (128 * KiB));
});

test("readAhead and maxRead in bytes set the window and READ size; bad values are refused before anything is mounted", async (t) => {
  const why = whyNoFuseMount([{ command: "dd", hint: "install coreutils" }]);
  if (why) return skipOrFail(t, why);
  const { window, reads } = await coldRead({ readAhead: 512 * KiB, maxRead: 512 * KiB });
  assert.equal(window, 512 * KiB);
  assert.equal(Math.max(...reads), 512 * KiB, `READ sizes: ${reads.join(", ")}`);
  const dir = mkdtempSync(join(tmpdir(), "fuse-uapi-read-ahead-bad-"));
  try {
    for (const bad of [-1, 1.5, "1M", Number.NaN]) {
      await assert.rejects(
        mount(dir, new MemFs(), { name: "memfs", readAhead: bad as never }),
        (e: Error) =>
          e instanceof TypeError && /readAhead must be a byte count or "kernel"/.test(e.message),
      );
    }
    for (const bad of [0, 4095, 65536.5, "256K"]) {
      await assert.rejects(
        mount(dir, new MemFs(), { name: "memfs", maxRead: bad as never }),
        (e: Error) =>
          e instanceof TypeError &&
          /maxRead must be a byte count of at least 4096 or "kernel"/.test(e.message),
      );
    }
    assert.equal(
      readFileSync("/proc/self/mountinfo", "utf8").includes(` ${dir} `),
      false,
      "nothing was mounted",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
