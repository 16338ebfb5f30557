/**
 * The I/O side of the server benchmark, always its own process (never the
 * server's: README, "Never touch your own mount synchronously from the server's
 * process"). bench/server/run.ts starts it once per workload and filesystem:
 *
 *   node dist/bench/server/io.js '<json task>'
 *
 * and reads one JSON line from stdout: the timed milliseconds (and the steps of
 * multi-step workloads). Set-up and clean-up around the timed part are not
 * timed. Any error exits non-zero with the reason on stderr.
 */
import { spawnSync } from "node:child_process";
import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

export type Task =
  | { kind: "write"; dir: string; size: number; block: number }
  | { kind: "read"; dir: string; size: number; block: number }
  | { kind: "files"; dir: string; count: number }
  | { kind: "ls"; dir: string; count: number; settleMs: number }
  | { kind: "mixed"; dir: string; workers: number; ops: number }
  | { kind: "tree"; dir: string; tarball: string; files: number; needles: number };

export interface TaskResult {
  /** The timed part, milliseconds. */
  ms: number;
  /** Steps of a multi-step workload, milliseconds each. */
  steps?: Record<string, number>;
  /** Operations done (mixed workload). */
  ops?: number;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;

function run(cmd: string, args: string[], opts: { stdout?: "pipe" | "ignore" } = {}): string {
  const r = spawnSync(cmd, args, {
    stdio: ["ignore", opts.stdout ?? "pipe", "pipe"],
    maxBuffer: 1 << 28,
    encoding: "utf8",
  });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr.trim().slice(0, 500)}`,
    );
  return r.stdout ?? "";
}

function seqFile(dir: string, size: number): string {
  return join(dir, `seq-${size}.bin`);
}

function pattern(block: number): Buffer {
  const b = Buffer.alloc(block);
  for (let i = 0; i < block; i++) b[i] = (i * 131 + 17) & 0xff;
  return b;
}

function writeFile(path: string, size: number, block: number): void {
  const buf = pattern(block);
  const fd = openSync(path, "w");
  try {
    for (let done = 0; done < size;) {
      const n = writeSync(fd, buf, 0, Math.min(block, size - done));
      if (n <= 0) throw new Error(`write returned ${n}`);
      done += n;
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Sequential write of `size` bytes in `block`-byte writes, fsync and close included; the file stays for "read". */
function seqWrite(t: Extract<Task, { kind: "write" }>): TaskResult {
  const path = seqFile(t.dir, t.size);
  if (existsSync(path)) unlinkSync(path);
  const t0 = now();
  writeFile(path, t.size, t.block);
  const ms = now() - t0;
  const got = statSync(path).size;
  if (got !== t.size) throw new Error(`wrote ${t.size} bytes, the file has ${got}`);
  return { ms };
}

/**
 * Sequential read in `block`-byte reads, cold: the file's cached pages are dropped first
 * (posix_fadvise DONTNEED through dd, for this file only; tmpfs pages are the file itself
 * and stay). Uses the file "write" left, or writes one (not timed); removes it afterwards.
 */
function seqRead(t: Extract<Task, { kind: "read" }>): TaskResult {
  const path = seqFile(t.dir, t.size);
  if (!existsSync(path) || statSync(path).size !== t.size) writeFile(path, t.size, 1 << 20);
  run("dd", [`if=${path}`, "iflag=nocache", "count=0", "status=none"]);
  const buf = Buffer.alloc(t.block);
  const t0 = now();
  const fd = openSync(path, "r");
  let total = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, t.block, null);
      if (n === 0) break;
      total += n;
    }
  } finally {
    closeSync(fd);
  }
  const ms = now() - t0;
  if (total !== t.size) throw new Error(`read ${total} bytes of ${t.size}`);
  unlinkSync(path);
  return { ms };
}

/** create (open O_CREAT|O_EXCL + close), stat and unlink, `count` times. */
function files(t: Extract<Task, { kind: "files" }>): TaskResult {
  const dir = join(t.dir, "files");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const t0 = now();
  for (let i = 0; i < t.count; i++) {
    const p = join(dir, `f${i}`);
    closeSync(openSync(p, "wx"));
    statSync(p);
    unlinkSync(p);
  }
  const ms = now() - t0;
  if (readdirSync(dir).length !== 0) throw new Error("files left behind");
  rmSync(dir, { recursive: true });
  return { ms };
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * `ls -l` of a directory of `count` empty files, created first (not timed); then a pause
 * longer than the FUSE entry and attribute timeouts (1 s in both servers), so the listing
 * asks the server again, as it would a while after the files were made.
 */
function ls(t: Extract<Task, { kind: "ls" }>): TaskResult {
  const dir = join(t.dir, "ls");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  for (let i = 0; i < t.count; i++) closeSync(openSync(join(dir, `entry-${i}.txt`), "wx"));
  sleep(t.settleMs);
  const t0 = now();
  const out = run("ls", ["-l", "--color=never", dir]);
  const ms = now() - t0;
  const lines = out.split("\n").filter((l) => l.length > 0).length;
  if (lines !== t.count + 1) throw new Error(`ls -l printed ${lines} lines for ${t.count} entries`);
  rmSync(dir, { recursive: true });
  return { ms };
}

/** xorshift32: the same mix of operations on every filesystem. */
function prng(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/**
 * One worker of "mixed": in its own folder, `ops` operations drawn from 35 % write a new
 * file of 0.5–16 KiB, 30 % read a whole file, 20 % stat, 10 % append 1 KiB, 5 % unlink.
 */
function mixedWorker(
  dir: string,
  seed: number,
  ops: number,
  ready: () => void,
  go: Int32Array,
): number {
  mkdirSync(dir, { recursive: true });
  const rnd = prng(seed);
  const data = pattern(16384);
  const names: string[] = [];
  let next = 0;
  const add = () => {
    const name = join(dir, `m${next++}`);
    writeFileSync(name, data.subarray(0, 512 + Math.floor(rnd() * 15872)));
    names.push(name);
  };
  for (let i = 0; i < 20; i++) add();
  ready();
  Atomics.wait(go, 0, 0);
  const pick = () => names[Math.floor(rnd() * names.length)]!;
  for (let i = 0; i < ops; i++) {
    const r = rnd();
    if (r < 0.35) add();
    else if (r < 0.65) readFileSync(pick());
    else if (r < 0.85) statSync(pick());
    else if (r < 0.95) appendFileSync(pick(), data.subarray(0, 1024));
    else if (names.length > 5) unlinkSync(names.splice(Math.floor(rnd() * names.length), 1)[0]!);
    else statSync(pick());
  }
  return ops;
}

async function mixed(t: Extract<Task, { kind: "mixed" }>): Promise<TaskResult> {
  const root = join(t.dir, "mixed");
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root);
  const go = new Int32Array(new SharedArrayBuffer(4));
  let ready = 0;
  let allReady!: () => void;
  const readyP = new Promise<void>((resolve) => (allReady = resolve));
  const workers = Array.from({ length: t.workers }, (_, i) => {
    const w = new Worker(new URL(import.meta.url), {
      workerData: { dir: join(root, `w${i}`), seed: 0x9e3779b9 ^ (i + 1), ops: t.ops, go },
    });
    const done = new Promise<number>((resolve, reject) => {
      w.on("message", (m: { ready?: true; done?: number }) => {
        if (m.ready && ++ready === t.workers) allReady();
        if (m.done !== undefined) resolve(m.done);
      });
      w.on("error", reject);
      w.on("exit", (code) => (code !== 0 ? reject(new Error(`worker exited ${code}`)) : undefined));
    });
    return done;
  });
  await Promise.race([readyP, Promise.all(workers)]);
  const t0 = now();
  Atomics.store(go, 0, 1);
  Atomics.notify(go, 0);
  const counts = await Promise.all(workers);
  const ms = now() - t0;
  rmSync(root, { recursive: true });
  return { ms, ops: counts.reduce((a, b) => a + b, 0) };
}

/** A source tree: untar, find, grep -r, rm -rf, each timed; the total is their sum. */
function tree(t: Extract<Task, { kind: "tree" }>): TaskResult {
  const top = join(t.dir, "src");
  rmSync(top, { recursive: true, force: true });
  const steps: Record<string, number> = {};
  let t0 = now();
  run("tar", ["-xf", t.tarball, "-C", t.dir]);
  steps["untar"] = now() - t0;
  t0 = now();
  const found = run("find", [top, "-type", "f"]).split("\n").filter(Boolean).length;
  steps["find"] = now() - t0;
  if (found !== t.files) throw new Error(`find saw ${found} files, the tarball has ${t.files}`);
  t0 = now();
  const hits = run("grep", ["-r", "-l", "FUSE_UAPI_BENCH_NEEDLE", top])
    .split("\n")
    .filter(Boolean).length;
  steps["grep -r"] = now() - t0;
  if (hits !== t.needles) throw new Error(`grep found ${hits} files, the tree has ${t.needles}`);
  t0 = now();
  run("rm", ["-rf", top]);
  steps["rm -rf"] = now() - t0;
  if (existsSync(top)) throw new Error("rm -rf left the tree");
  return { ms: Object.values(steps).reduce((a, b) => a + b, 0), steps };
}

async function runTask(t: Task): Promise<TaskResult> {
  switch (t.kind) {
    case "write":
      return seqWrite(t);
    case "read":
      return seqRead(t);
    case "files":
      return files(t);
    case "ls":
      return ls(t);
    case "mixed":
      return mixed(t);
    case "tree":
      return tree(t);
  }
}

if (isMainThread) {
  const arg = process.argv[2];
  if (!arg) {
    console.error("usage: node dist/bench/server/io.js '<json task>'");
    process.exit(2);
  }
  runTask(JSON.parse(arg) as Task).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
} else {
  const d = workerData as { dir: string; seed: number; ops: number; go: Int32Array };
  const n = mixedWorker(d.dir, d.seed, d.ops, () => parentPort!.postMessage({ ready: true }), d.go);
  parentPort!.postMessage({ done: n });
}
