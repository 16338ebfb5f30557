/**
 * memfs end to end: the server of server/ mounted through the real kernel, with
 * real programs on it. test/e2e/fs-script.sh (coreutils, attr's getfattr and
 * setfattr, and a Python script for the system calls tools do not reach) runs
 * once on memfs and once on a fresh tmpfs, and the outputs must match after
 * normalizing what legitimately differs (see `normalize`). Every request the
 * kernel sent is captured and decoded, and the count per opcode is reported.
 *
 * Needs root and /dev/fuse; skips with the reason otherwise. Every mount made
 * here is unmounted in `finally` blocks and, should the process die first, by
 * exit hooks (server/mount.ts for FUSE, `exitHooks` below for tmpfs).
 *
 * The last suite needs neither: it drives the same dispatcher over an
 * in-memory transport.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  FUSE_ASYNC_READ,
  FUSE_ATOMIC_O_TRUNC,
  FUSE_DO_READDIRPLUS,
  FUSE_INIT_EXT,
  FUSE_KERNEL_MINOR_VERSION,
  FuseOpcode,
  decodeFuseAttrOut,
  decodeFuseEntryOut,
  decodeFuseInitOut,
  decodeFuseOutHeader,
  encodeFuseForgetIn,
  encodeFuseGetxattrIn,
  encodeFuseInHeader,
  encodeFuseInitIn,
  encodeFuseInterruptIn,
  encodeFuseMkdirIn,
  encodeFuseReadIn,
  encodeFuseSetxattrIn,
  fuseOpcodeName,
  zeroFuseInitIn,
  zeroFuseReadIn,
} from "../generated/base-7.45/index.js";
import { MemFs } from "../examples/memfs/memfs.js";
import {
  Errno,
  FuseError,
  Session,
  createMemoryPair,
  decodeHeader,
  decodeRequest,
  fuseMounts,
  isFuseMounted,
  mount,
  unmountAllUnder,
  type FuseHandlers,
  type FuseMount,
  type MemoryTransport,
} from "../server/index.js";
import { whyNoFuseMount } from "./helpers/fuse-env.js";
import { skipOrFail } from "./helpers/skip.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const E2E = join(ROOT, "test/e2e");
const MAIN = join(ROOT, "dist/examples/memfs/main.js");
const PREFIX = "memfs-e2e-";
const SCRIPT_TIMEOUT_MS = 180_000;

/** Why a real mount cannot be tested here, or undefined when it can. */
function whyNoMount(): string | undefined {
  const attr = "install Debian's attr package";
  return whyNoFuseMount([
    { command: "getfattr", hint: attr },
    { command: "setfattr", hint: attr },
  ]);
}

/** tmpfs mounts of this test, unmounted at exit if a test dies before its finally. */
const exitHooks = new Set<string>();
process.on("exit", () => {
  for (const dir of exitHooks) spawnSync("umount", ["-l", dir], { stdio: "ignore", timeout: 5000 });
});

/**
 * Mounts left by an earlier run that died hard (SIGKILL): their server is gone, so
 * they answer ENOTCONN. Those are unmounted; a live one may be another run's.
 */
function cleanStaleMounts(): void {
  const base = join(tmpdir(), PREFIX);
  for (const m of fuseMounts()) {
    if (!m.mountpoint.startsWith(base)) continue;
    const probe = spawnSync("stat", ["-f", m.mountpoint], { encoding: "utf8", timeout: 2000 });
    if (probe.stderr.includes("not connected")) unmountAllUnder(m.mountpoint);
  }
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command with a time limit (SIGKILL after it). */
function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<Ran> {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: opts.timeoutMs ?? 30_000,
      killSignal: "SIGKILL",
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (err) =>
      resolvePromise({ code: null, stdout, stderr: stderr + String(err) }),
    );
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/**
 * What may differ between two runs on two filesystems, and nothing else:
 * - device numbers and inode numbers (each filesystem numbers its own);
 * - timestamps taken from the clock during the run ("now"): the two runs
 *   happen at different moments. Timestamps the script sets (touch -d, utime)
 *   are far from now and stay, so they are compared.
 * Sizes, block counts, modes, link counts, owners, names, contents, checksums,
 * error messages and exit codes are compared as they are. Block counts match
 * because memfs accounts like tmpfs: 8 blocks per 4 KiB page touched, none
 * for directories or short symlinks, one page for symlinks of 128+ bytes.
 */
function normalize(out: string, runStartMs: number): string {
  const lo = runStartMs - 3_600_000;
  const hi = Date.now() + 3_600_000;
  return out
    .replace(/Device: \S+/g, "Device: <dev>")
    .replace(/Inode: \d+\s+/g, "Inode: <ino> ")
    .replace(/(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(\.\d+)? \+0000/g, (whole, ymdhms: string) => {
      const t = Date.parse(`${ymdhms.replace(" ", "T")}Z`);
      return t >= lo && t <= hi ? "<now>" : whole;
    });
}

/** A line-by-line diff to show in a failure: only the lines that differ, with their numbers. */
function lineDiff(a: string, b: string): string {
  const x = a.split("\n");
  const y = b.split("\n");
  const out: string[] = [];
  for (let i = 0; i < Math.max(x.length, y.length) && out.length < 80; i++) {
    if (x[i] !== y[i])
      out.push(`${i + 1}: tmpfs: ${x[i] ?? "<none>"}`, `${i + 1}: memfs: ${y[i] ?? "<none>"}`);
  }
  return out.join("\n");
}

/** Step headers of the script whose output is identical on both sides, and those that differ. */
function compareSteps(ref: string, mem: string): { equal: string[]; different: string[] } {
  const split = (s: string) => {
    const m = new Map<string, string>();
    for (const chunk of s.split("\n## ").slice(1)) {
      const nl = chunk.indexOf("\n");
      m.set(chunk.slice(0, nl), chunk.slice(nl));
    }
    return m;
  };
  const a = split(ref);
  const b = split(mem);
  const equal: string[] = [];
  const different: string[] = [];
  for (const [name, body] of a) (b.get(name) === body ? equal : different).push(name);
  return { equal, different };
}

async function withTmpfs<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const r = await run("mount", ["-t", "tmpfs", "-o", "mode=755,size=2g", "tmpfs", dir]);
  if (r.code !== 0) throw new Error(`cannot mount the reference tmpfs: ${r.stderr.trim()}`);
  exitHooks.add(dir);
  try {
    return await fn();
  } finally {
    const u = await run("umount", [dir]);
    if (u.code !== 0) await run("umount", ["-l", dir]);
    exitHooks.delete(dir);
  }
}

/** Decodes every captured request; returns counts by opcode name and the failures. */
function decodeAll(
  requests: Uint8Array[],
  setxattrExt: boolean,
): { counts: Record<string, number>; failures: string[] } {
  const counts: Record<string, number> = {};
  const failures: string[] = [];
  for (const bytes of requests) {
    const h = decodeHeader(bytes);
    const name = fuseOpcodeName(h.opcode) ?? `opcode ${h.opcode}`;
    counts[name] = (counts[name] ?? 0) + 1;
    try {
      const req = decodeRequest(bytes, { minor: FUSE_KERNEL_MINOR_VERSION, setxattrExt });
      if (req.op === "unknown") throw new Error("opcode unknown to this revision");
    } catch (err) {
      failures.push(`${name} unique=${h.unique}: ${(err as Error).message}`);
    }
  }
  return { counts, failures };
}

describe("memfs mounted through the kernel", { concurrency: false }, () => {
  const reason = whyNoMount();

  test(
    "real programs see the same filesystem on memfs as on tmpfs",
    { timeout: 600_000 },
    async (t) => {
      if (reason) return skipOrFail(t, reason);
      cleanStaleMounts();
      const tmp = await mkdtemp(join(tmpdir(), PREFIX));
      const seed = join(tmp, "seed");
      writeFileSync(seed, randomBytes(16 << 20)); // dd reads it on both sides: same bytes, same checksums.
      // The script cds into the filesystem itself: a child spawned with its cwd on
      // our own mount would deadlock (libuv waits for the child's exec while the
      // child's chdir waits for this very process to answer GETATTR).
      const script = (dir: string) =>
        ["bash", [join(E2E, "fs-script.sh"), dir, seed, E2E]] as const;
      const start = Date.now();
      const captured: Uint8Array[] = [];
      let m: FuseMount | undefined;
      // Both mountpoints exist before either run: the script's "ls -la" shows their parent.
      const mnt = join(tmp, "memfs");
      mkdirSync(mnt);
      mkdirSync(join(tmp, "tmpfs"));
      try {
        const ref = await withTmpfs(join(tmp, "tmpfs"), () =>
          run(...script(join(tmp, "tmpfs")), { timeoutMs: SCRIPT_TIMEOUT_MS }),
        );
        m = await mount(mnt, new MemFs(), {
          name: "memfs",
          flags: BigInt(FUSE_ATOMIC_O_TRUNC),
          handleSignals: false,
          onRequest: (bytes) => captured.push(bytes),
          onError: (err) => t.diagnostic(`handler error: ${String(err)}`),
        });
        const conn = m.connection!;
        t.diagnostic(
          `negotiated FUSE ${conn.major}.${conn.minor}, flags 0x${conn.flags.toString(16)}, max_write ${conn.maxWrite}`,
        );
        const mem = await run(...script(mnt), { timeoutMs: SCRIPT_TIMEOUT_MS });
        await m.close();
        assert.equal(isFuseMounted(m.mountpoint), false, "memfs still mounted after close()");

        assert.equal(ref.code, 0, `script on tmpfs failed: ${ref.stderr}`);
        assert.equal(mem.code, 0, `script on memfs failed: ${mem.stderr}`);
        const a = normalize(ref.stdout, start);
        const b = normalize(mem.stdout, start);
        const steps = compareSteps(a, b);
        t.diagnostic(`steps equal on both: ${steps.equal.join(" | ")}`);
        if (steps.different.length > 0)
          t.diagnostic(`steps that differ: ${steps.different.join(" | ")}`);
        assert.ok(
          a.includes("## sha256sum of everything left"),
          "the script did not run to its end",
        );
        assert.ok(a === b, `memfs and tmpfs outputs differ:\n${lineDiff(a, b)}`);

        const { counts, failures } = decodeAll(captured, conn.setxattrExt);
        const summary = Object.entries(counts)
          .sort((x, y) => y[1] - x[1])
          .map(([k, v]) => `${k}=${v}`)
          .join(" ");
        t.diagnostic(
          `kernel requests decoded: ${captured.length} (${failures.length} failures): ${summary}`,
        );
        assert.deepEqual(failures, []);
        for (const op of [
          "FUSE_INIT",
          "FUSE_LOOKUP",
          "FUSE_WRITE",
          "FUSE_READ",
          "FUSE_SETXATTR",
          "FUSE_RENAME2",
          "FUSE_FALLOCATE",
        ]) {
          assert.ok(counts[op], `the kernel never sent ${op}`);
        }
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

  /** Starts the CLI on a fresh mountpoint and waits for its "mounted" line. */
  async function startCli(): Promise<{
    mnt: string;
    tmp: string;
    child: ReturnType<typeof spawn>;
    exited: Promise<number | null>;
    output: () => string;
  }> {
    const tmp = await mkdtemp(join(tmpdir(), PREFIX));
    const mnt = join(tmp, "mnt");
    mkdirSync(mnt);
    const child = spawn(process.execPath, [MAIN, mnt], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const deadline = Date.now() + 15_000;
    while (!out.includes("mounted memfs") && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 50));
    }
    return { mnt, tmp, child, exited, output: () => out };
  }

  async function stopCli(cli: Awaited<ReturnType<typeof startCli>>): Promise<void> {
    if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill("SIGKILL");
    if (isFuseMounted(cli.mnt)) unmountAllUnder(cli.mnt);
    await rm(cli.tmp, { recursive: true, force: true }).catch(() => {});
  }

  const within = <T>(p: Promise<T>, ms: number) =>
    Promise.race([p, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms))]);

  test(
    "the CLI (npm run memfs) mounts, serves, and unmounts on SIGTERM (exit 143) and SIGINT (exit 130)",
    { timeout: 90_000 },
    async (t) => {
      if (reason) return skipOrFail(t, reason);
      if (!existsSync(MAIN)) return skipOrFail(t, `${MAIN} not built`);
      for (const [signal, expected] of [
        ["SIGTERM", 143],
        ["SIGINT", 130],
      ] as const) {
        const cli = await startCli();
        try {
          assert.match(cli.output(), /mounted memfs at .* \(FUSE 7\.\d+/);
          const r = await run(
            "sh",
            ["-c", "echo hi > f && mkdir d && ln -s ../f d/l && cat d/l && ls -l | wc -l"],
            { cwd: cli.mnt },
          );
          assert.equal(r.stdout, "hi\n3\n");
          cli.child.kill(signal);
          const code = await within(cli.exited, 15_000);
          // 128 + the signal's number, as server/mount.ts documents and shells report.
          assert.equal(code, expected, `${signal}: exit ${code}; output: ${cli.output()}`);
          assert.equal(isFuseMounted(cli.mnt), false, `${signal}: still mounted`);
          assert.match(cli.output(), /unmounted/);
        } finally {
          await stopCli(cli);
        }
      }
    },
  );

  test(
    "the CLI exits 0 when its filesystem is unmounted from outside",
    { timeout: 60_000 },
    async (t) => {
      if (reason) return skipOrFail(t, reason);
      if (!existsSync(MAIN)) return skipOrFail(t, `${MAIN} not built`);
      const cli = await startCli();
      try {
        assert.match(cli.output(), /mounted memfs/);
        assert.equal((await run("umount", [cli.mnt])).code, 0);
        assert.equal(await within(cli.exited, 15_000), 0, cli.output());
      } finally {
        await stopCli(cli);
      }
    },
  );
});

// ---- the dispatcher without a mount ------------------------------------------

const enc = new TextEncoder();

/** A request as the kernel lays it out: fuse_in_header, then the parts. */
function request(
  opcode: number,
  unique: bigint,
  nodeid: bigint,
  ...parts: Uint8Array[]
): Uint8Array {
  const len = 40 + parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(len);
  encodeFuseInHeader(
    { len, opcode, unique, nodeid, uid: 0, gid: 0, pid: 1, total_extlen: 0, padding: 0 },
    out,
    0,
  );
  let at = 40;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function struct<T>(
  encode: (v: T, b: Uint8Array, o: number) => number,
  value: T,
  size: number,
): Uint8Array {
  const b = new Uint8Array(size);
  encode(value, b, 0);
  return b;
}

const cstr = (s: string) => enc.encode(`${s}\0`);

function initRequest(unique: bigint, minor: number, flags = 0xffffffff): Uint8Array {
  const init = {
    ...zeroFuseInitIn(),
    major: 7,
    minor,
    max_readahead: 65536,
    flags: flags >>> 0,
    flags2: 0,
  };
  // The kernel sends its own minor's fuse_init_in: 8 bytes before 7.6, 16 before 7.36.
  const full = struct(encodeFuseInitIn, init, 64);
  return request(
    FuseOpcode.FUSE_INIT,
    unique,
    0n,
    full.subarray(0, minor < 6 ? 8 : minor < 36 ? 16 : 64),
  );
}

/** A session on one end of an in-memory pair; `call` plays the kernel on the other. */
function harness(handlers: FuseHandlers, opts: ConstructorParameters<typeof Session>[1] = {}) {
  const [server, kernel] = createMemoryPair();
  const session = new Session(handlers, { onError: () => {}, ...opts });
  const done = session.run(server);
  let unique = 100n;
  const call = async (opcode: number, nodeid: bigint, ...parts: Uint8Array[]) => {
    const u = ++unique;
    kernel.write(request(opcode, u, nodeid, ...parts));
    const reply = await nextReply(kernel);
    const h = decodeFuseOutHeader(reply, 0);
    assert.equal(h.unique, u);
    assert.equal(h.len, reply.length);
    return { error: h.error, body: reply.subarray(16), unique: u };
  };
  return { session, kernel, done, call, nextUnique: () => ++unique };
}

async function nextReply(kernel: MemoryTransport, ms = 2000): Promise<Uint8Array> {
  const r = await Promise.race([
    kernel.read(),
    new Promise<"timeout">((res) => setTimeout(() => res("timeout"), ms)),
  ]);
  assert.ok(r instanceof Uint8Array, `no reply within ${ms} ms`);
  return r;
}

describe("the dispatcher over an in-memory transport (no mount)", () => {
  test("INIT: minor = min(kernel, ours), reply size by the kernel's minor, flags = asked ∩ offered", async () => {
    for (const [minor, size] of [
      [45, 64],
      [36, 64],
      [23, 64],
      [22, 24],
      [5, 24],
      [4, 8],
    ] as const) {
      const h = harness({ readdirplus: () => ({ data: new Uint8Array(0) }) });
      h.kernel.write(initRequest(1n, minor, FUSE_ASYNC_READ | FUSE_DO_READDIRPLUS | FUSE_INIT_EXT));
      const reply = await nextReply(h.kernel);
      assert.equal(reply.length, 16 + size, `minor ${minor}`);
      const padded = new Uint8Array(64);
      padded.set(reply.subarray(16));
      const out = decodeFuseInitOut(padded, 0);
      assert.equal(out.major, 7);
      assert.equal(out.minor, minor);
      // fuse_init_in carries flags from 7.6 on (before, the kernel offers nothing); init_out has max_write from 7.5.
      if (minor >= 6)
        assert.equal(out.flags, FUSE_ASYNC_READ | FUSE_DO_READDIRPLUS | FUSE_INIT_EXT);
      if (minor === 5) assert.equal(out.flags, 0);
      if (minor >= 5) assert.equal(out.max_write, 1 << 20);
      if (minor >= 23) assert.equal(out.time_gran, 1);
      h.kernel.close();
      await h.done;
    }
  });

  test("a second INIT is refused with EIO, as libfuse does; the first negotiation stands", async () => {
    const h = harness({
      getattr: () => ({
        attr_out: {
          attr_valid: 0n,
          attr_valid_nsec: 0,
          dummy: 0,
          attr: decodeFuseAttrOut(new Uint8Array(104), 0).attr,
        },
      }),
    });
    h.kernel.write(initRequest(1n, 36, FUSE_ASYNC_READ | FUSE_INIT_EXT));
    assert.equal(decodeFuseOutHeader(await nextReply(h.kernel), 0).error, 0);
    const agreed = { ...h.session.connection! };
    assert.equal(agreed.minor, 36);
    // Another INIT, offering more: refused, and nothing renegotiated.
    h.kernel.write(initRequest(2n, 45, 0xffffffff));
    const again = await nextReply(h.kernel);
    assert.deepEqual(decodeFuseOutHeader(again, 0), { len: 16, error: -Errno.EIO, unique: 2n });
    assert.deepEqual(h.session.connection, agreed);
    assert.equal(
      (await h.call(FuseOpcode.FUSE_GETATTR, 1n, new Uint8Array(16))).error,
      0,
      "the session goes on",
    );
    h.kernel.close();
    await h.done;

    // Two INITs at once: the first is negotiated, the second refused.
    const two = harness({});
    two.kernel.write(initRequest(1n, 45));
    two.kernel.write(initRequest(2n, 40));
    const replies = [await nextReply(two.kernel), await nextReply(two.kernel)].map((r) =>
      decodeFuseOutHeader(r, 0),
    );
    assert.deepEqual(replies.map((r) => [r.unique, r.error]).sort(), [
      [1n, 0],
      [2n, -Errno.EIO],
    ]);
    assert.equal(two.session.connection?.minor, 45);
    two.kernel.close();
    await two.done;

    // An INIT from a newer major is answered with ours and settles nothing: the kernel's retry is heard.
    const newer = harness({});
    const init8 = request(
      FuseOpcode.FUSE_INIT,
      1n,
      0n,
      struct(encodeFuseInitIn, { ...zeroFuseInitIn(), major: 8, minor: 0 }, 64),
    );
    newer.kernel.write(init8);
    const r8 = await nextReply(newer.kernel);
    assert.equal(decodeFuseOutHeader(r8, 0).error, 0);
    assert.equal(decodeFuseInitOut(r8.subarray(16), 0).major, 7);
    const before = newer.session.connection;
    assert.equal(before, undefined, "nothing negotiated yet");
    newer.kernel.write(initRequest(2n, 45));
    assert.equal(decodeFuseOutHeader(await nextReply(newer.kernel), 0).error, 0);
    const after: { minor: number } | undefined = newer.session.connection;
    assert.equal(after?.minor, 45);
    newer.kernel.close();
    await newer.done;
  });

  test("errors: before INIT → EIO, no handler → ENOSYS, FuseError → its errno, a throw → EIO, bad errno → EIO", async () => {
    const h = harness({
      getattr: () => {
        throw new Error("bug");
      },
      readlink: () => {
        throw new FuseError(Errno.EACCES);
      },
      access: () => ({ error: -99999 }),
      statfs: () => ({ error: -Errno.ENOSPC }),
    });
    assert.equal((await h.call(FuseOpcode.FUSE_GETATTR, 1n, new Uint8Array(16))).error, -Errno.EIO);
    h.kernel.write(initRequest(1n, 45));
    await nextReply(h.kernel);
    assert.equal((await h.call(FuseOpcode.FUSE_LOOKUP, 1n, cstr("x"))).error, -Errno.ENOSYS);
    assert.equal((await h.call(9999, 1n)).error, -Errno.ENOSYS);
    assert.equal((await h.call(FuseOpcode.FUSE_GETATTR, 1n, new Uint8Array(16))).error, -Errno.EIO);
    assert.equal((await h.call(FuseOpcode.FUSE_READLINK, 1n)).error, -Errno.EACCES);
    assert.equal((await h.call(FuseOpcode.FUSE_ACCESS, 1n, new Uint8Array(8))).error, -Errno.EIO);
    assert.equal((await h.call(FuseOpcode.FUSE_STATFS, 1n)).error, -Errno.ENOSPC);
    // A truncated request: answered (EIO), not dropped.
    assert.equal((await h.call(FuseOpcode.FUSE_ACCESS, 1n, new Uint8Array(3))).error, -Errno.EIO);
    h.kernel.close();
    await h.done;
  });

  test("FORGET and INTERRUPT get no reply; INTERRUPT aborts the handler's signal", async () => {
    const forgotten: bigint[] = [];
    const h = harness({
      forget: (req) => void forgotten.push(req.header.nodeid, req.forget_in.nlookup),
      // Never finishes by itself: only the interrupt ends it.
      readlink: (_req, ctx) =>
        new Promise((_resolve, reject) =>
          ctx.signal.addEventListener("abort", () => reject(new FuseError(Errno.EINTR))),
        ),
    });
    h.kernel.write(initRequest(1n, 45));
    await nextReply(h.kernel);
    h.kernel.write(
      request(
        FuseOpcode.FUSE_FORGET,
        h.nextUnique(),
        7n,
        struct(encodeFuseForgetIn, { nlookup: 3n }, 8),
      ),
    );
    const slow = h.nextUnique();
    h.kernel.write(request(FuseOpcode.FUSE_READLINK, slow, 1n));
    await new Promise((r) => setTimeout(r, 20));
    h.kernel.write(
      request(
        FuseOpcode.FUSE_INTERRUPT,
        h.nextUnique(),
        0n,
        struct(encodeFuseInterruptIn, { unique: slow }, 8),
      ),
    );
    // The only reply: the interrupted READLINK's (FORGET and INTERRUPT have none).
    const reply = decodeFuseOutHeader(await nextReply(h.kernel), 0);
    assert.equal(reply.unique, slow);
    assert.equal(reply.error, -Errno.EINTR);
    assert.deepEqual(forgotten, [7n, 3n]);
    h.kernel.close();
    await h.done;
  });

  test("memfs answers the same bytes without a kernel: mkdir, lookup, getattr, readdir, xattrs", async () => {
    const h = harness(new MemFs(), { flags: BigInt(FUSE_ATOMIC_O_TRUNC) });
    h.kernel.write(initRequest(1n, 45, 0xffffffff));
    await nextReply(h.kernel);
    assert.equal(h.session.connection?.setxattrExt, true);
    const mk = await h.call(
      FuseOpcode.FUSE_MKDIR,
      1n,
      struct(encodeFuseMkdirIn, { mode: 0o750, umask: 0 }, 8),
      cstr("dir"),
    );
    assert.equal(mk.error, 0);
    const entry = decodeFuseEntryOut(mk.body, 0);
    assert.equal(entry.attr.mode, 0o40750);
    assert.equal(entry.attr.nlink, 2);
    assert.equal(entry.attr.size, 40n); // tmpfs-style: 20 bytes per entry, "." and ".." included
    assert.equal(
      (
        await h.call(
          FuseOpcode.FUSE_MKDIR,
          1n,
          struct(encodeFuseMkdirIn, { mode: 0o750, umask: 0 }, 8),
          cstr("dir"),
        )
      ).error,
      -Errno.EEXIST,
    );
    assert.equal((await h.call(FuseOpcode.FUSE_LOOKUP, 1n, cstr("nope"))).error, -Errno.ENOENT);
    assert.equal(
      (await h.call(FuseOpcode.FUSE_LOOKUP, 1n, cstr("n".repeat(256)))).error,
      -Errno.ENAMETOOLONG,
    );
    const root = decodeFuseAttrOut(
      (await h.call(FuseOpcode.FUSE_GETATTR, 1n, new Uint8Array(16))).body,
      0,
    );
    assert.equal(root.attr.nlink, 3);
    assert.equal(root.attr.size, 60n);

    const rd = await h.call(
      FuseOpcode.FUSE_READDIR,
      1n,
      struct(encodeFuseReadIn, { ...zeroFuseReadIn(), size: 4096 }, 40),
    );
    const names: string[] = [];
    for (let at = 0; at < rd.body.length;) {
      const dv = new DataView(rd.body.buffer, rd.body.byteOffset + at);
      const namelen = dv.getUint32(16, true);
      names.push(new TextDecoder().decode(rd.body.subarray(at + 24, at + 24 + namelen)));
      at += (24 + namelen + 7) & ~7;
    }
    assert.deepEqual(names, [".", "..", "dir"]);

    const dir = entry.nodeid;
    const setx = (name: string, value: string, flags: number) =>
      h.call(
        FuseOpcode.FUSE_SETXATTR,
        dir,
        struct(
          encodeFuseSetxattrIn,
          { size: value.length, flags, setxattr_flags: 0, padding: 0 },
          16,
        ),
        cstr(name),
        enc.encode(value),
      );
    assert.equal((await setx("user.a", "hello", 0)).error, 0);
    assert.equal((await setx("user.a", "x", 1)).error, -Errno.EEXIST); // XATTR_CREATE
    assert.equal((await setx("user.b", "x", 2)).error, -Errno.ENODATA); // XATTR_REPLACE
    assert.equal((await setx("other.a", "x", 0)).error, -Errno.EOPNOTSUPP);
    const getx = (size: number) =>
      h.call(
        FuseOpcode.FUSE_GETXATTR,
        dir,
        struct(encodeFuseGetxattrIn, { size, padding: 0 }, 8),
        cstr("user.a"),
      );
    const sizeOnly = await getx(0);
    assert.equal(
      new DataView(sizeOnly.body.buffer, sizeOnly.body.byteOffset).getUint32(0, true),
      5,
    );
    assert.equal((await getx(2)).error, -Errno.ERANGE);
    assert.equal(new TextDecoder().decode((await getx(100)).body), "hello");

    h.kernel.close();
    await h.done;
  });

  test("decodeRequest reads what the codecs wrote, at old minors too", () => {
    const mk = request(
      FuseOpcode.FUSE_MKDIR,
      5n,
      1n,
      struct(encodeFuseMkdirIn, { mode: 0o755, umask: 0o22 }, 8),
      cstr("é"),
    );
    const req = decodeRequest(mk, { minor: 45 });
    assert.equal(req.op, "FUSE_MKDIR");
    if (req.op === "FUSE_MKDIR") {
      assert.equal(req.name.text, "é");
      assert.equal(req.mkdir_in.umask, 0o22);
    }
    // Before 7.9 fuse_write_in was 24 bytes: the data starts right after it.
    const w = request(
      FuseOpcode.FUSE_WRITE,
      6n,
      1n,
      new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]),
      enc.encode("hi"),
    );
    const wr = decodeRequest(w, { minor: 8 });
    assert.ok(
      wr.op === "FUSE_WRITE" &&
        wr.write_in.fh === 1n &&
        wr.write_in.size === 2 &&
        new TextDecoder().decode(wr.data) === "hi",
    );
    assert.equal(decodeRequest(request(9999, 9n, 1n), { minor: 45 }).op, "unknown");
    // Without FUSE_SETXATTR_EXT fuse_setxattr_in is 8 bytes.
    const sx = request(
      FuseOpcode.FUSE_SETXATTR,
      7n,
      1n,
      new Uint8Array([3, 0, 0, 0, 0, 0, 0, 0]),
      cstr("user.x"),
      enc.encode("abc"),
    );
    const d = decodeRequest(sx, { minor: 45, setxattrExt: false });
    assert.ok(d.op === "FUSE_SETXATTR" && new TextDecoder().decode(d.value) === "abc");
    assert.throws(() =>
      decodeRequest(request(FuseOpcode.FUSE_LOOKUP, 8n, 1n, enc.encode("no-nul")), { minor: 45 }),
    );
  });
});
