/**
 * The server section of bench/results.md: memfs (our server, examples/memfs),
 * an in-memory filesystem on fuse-native 2.2.6 (libfuse 2) and tmpfs, each
 * mounted by the kernel, running the workloads of issue E's second table.
 *
 * Workloads and filesystems are interleaved (every repeat runs each workload on
 * every filesystem, the order rotating), the I/O always runs in a separate
 * process (bench/server/io.ts), and every mount is undone at the end, on error
 * and on SIGINT/SIGTERM.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "../lib/timing.js";
import type { Task, TaskResult } from "./io.js";
import { logFile, mountOf, mountTmpfs, startServer, tail, type Mounted } from "./mounts.js";
import { makeTree, type Tree } from "./tree.js";

export interface ServerOptions {
  readonly smoke: boolean;
  /** Bytes of each sequential read/write workload (default 1 GiB, 8 MiB in smoke mode). */
  readonly size: number | undefined;
  readonly log: (s: string) => void;
}

export interface SectionResult {
  readonly markdown: string;
  /** What went wrong; the bench exits non-zero when this is not empty. */
  readonly failures: string[];
}

type Metric = "throughput" | "files" | "time" | "ops";

interface Workload {
  readonly id: string;
  readonly title: string;
  readonly metric: Metric;
  /** Bytes, files or ops the metric divides by (per timed run). */
  readonly amount: number;
  /** Filesystems beyond the three that run it (the big_writes variant). */
  readonly extra?: readonly string[];
  /**
   * Timed runs per filesystem in each repeat (default 1), the filesystems interleaved in each:
   * a cold 1 GiB read takes well under 2 s and its spread is wide (a reader that lands on the
   * server's CPU), so the reads take more samples for the same time.
   */
  readonly samples?: number;
  task(dir: string): Task;
}

const MiB = 1 << 20;
/** Timed cold reads per filesystem and repeat (see `Workload.samples`). */
const READ_SAMPLES = 3;
const FS_MEMFS = "memfs";
const FS_NATIVE = "fuse-native";
const FS_NATIVE_BW = "fuse-native (big_writes)";
/**
 * memfs with `--no-btime`: libfuse 2 cannot speak STATX, so its kernel answers Node's
 * `fs.stat` (a statx asking for the birth time) from cached attributes, where memfs gets one
 * STATX request per new file; this variant compares the servers on the same requests.
 */
const FS_MEMFS_NO_STATX = "memfs (no STATX)";
const FS_TMPFS = "tmpfs";
/**
 * The read-ahead window's two settings on each server, for the sequential reads: memfs
 * raises its mount's window to 1 MiB by default (`MountOptions.readAhead`, in 256 KiB READs), fuse-native
 * leaves the kernel's 128 KiB. These variants show each the other way round.
 */
const FS_MEMFS_KERNEL_RA = "memfs (kernel read-ahead)";
const FS_NATIVE_RA = "fuse-native (1 MiB read-ahead)";
const ALL_FS = [
  FS_MEMFS,
  FS_MEMFS_NO_STATX,
  FS_MEMFS_KERNEL_RA,
  FS_NATIVE,
  FS_NATIVE_BW,
  FS_NATIVE_RA,
  FS_TMPFS,
];

function human(bytes: number): string {
  return bytes >= 1 << 30 ? `${bytes / (1 << 30)} GiB` : `${bytes / MiB} MiB`;
}

function workloads(smoke: boolean, size: number, tree: Tree): Workload[] {
  const nFiles = smoke ? 200 : 10_000;
  const workers = 8;
  const opsPerWorker = smoke ? 25 : 1500;
  return [
    {
      id: "w4k",
      title: `sequential write ${human(size)}, 4 KiB writes`,
      metric: "throughput",
      amount: size,
      task: (dir) => ({ kind: "write", dir, size, block: 4096 }),
    },
    {
      id: "r4k",
      title: `sequential read ${human(size)}, 4 KiB reads, cold`,
      metric: "throughput",
      amount: size,
      extra: [FS_MEMFS_KERNEL_RA, FS_NATIVE_RA],
      samples: READ_SAMPLES,
      task: (dir) => ({ kind: "read", dir, size, block: 4096 }),
    },
    {
      id: "w1m",
      title: `sequential write ${human(size)}, 1 MiB writes`,
      metric: "throughput",
      amount: size,
      extra: [FS_NATIVE_BW],
      task: (dir) => ({ kind: "write", dir, size, block: MiB }),
    },
    {
      id: "r1m",
      title: `sequential read ${human(size)}, 1 MiB reads, cold`,
      metric: "throughput",
      amount: size,
      extra: [FS_MEMFS_KERNEL_RA, FS_NATIVE_RA],
      samples: READ_SAMPLES,
      task: (dir) => ({ kind: "read", dir, size, block: MiB }),
    },
    {
      id: "files",
      title: `create + stat + unlink ${nFiles.toLocaleString("en-US")} files`,
      metric: "files",
      amount: nFiles,
      extra: [FS_MEMFS_NO_STATX],
      task: (dir) => ({ kind: "files", dir, count: nFiles }),
    },
    {
      id: "ls",
      title: `\`ls -l\` of a ${nFiles.toLocaleString("en-US")}-entry directory`,
      metric: "time",
      amount: 1,
      task: (dir) => ({ kind: "ls", dir, count: nFiles, settleMs: 1100 }),
    },
    {
      id: "mixed",
      title: `${workers} workers, mixed small I/O (${(workers * opsPerWorker).toLocaleString("en-US")} ops)`,
      metric: "ops",
      amount: workers * opsPerWorker,
      extra: [FS_MEMFS_NO_STATX],
      task: (dir) => ({ kind: "mixed", dir, workers, ops: opsPerWorker }),
    },
    {
      id: "tree",
      title: `a source tree (${tree.files.toLocaleString("en-US")} files, ${(tree.bytes / MiB).toFixed(0)} MiB): untar, find, grep -r, rm -rf`,
      metric: "time",
      amount: 1,
      task: (dir) => ({
        kind: "tree",
        dir,
        tarball: tree.tarball,
        files: tree.files,
        needles: tree.needles,
      }),
    },
  ];
}

/** Runs one task in a child process; rejects with its stderr, or on timeout (the child is killed). */
function runIo(
  root: string,
  task: Task,
  timeoutMs: number,
  running: Set<ChildProcess>,
): Promise<TaskResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(root, "dist", "bench", "server", "io.js"), JSON.stringify(task)],
      {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    running.add(child);
    child.on("exit", () => running.delete(child));
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`timed out after ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(err.trim() || `exited ${code}`));
      try {
        resolve(JSON.parse(out.trim().split("\n").pop()!) as TaskResult);
      } catch {
        reject(new Error(`no result: ${out.trim().slice(0, 200)}`));
      }
    });
  });
}

function dpkgVersion(pkg: string): string | null {
  const r = spawnSync("dpkg-query", ["-W", "-f=${Version}", pkg], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

function why(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface Cell {
  ms: number[];
  steps: Record<string, number>[];
  errors: string[];
}

export async function runServer(root: string, opts: ServerOptions): Promise<SectionResult> {
  const { smoke, log } = opts;
  const ci = !!process.env["CI"];
  const failures: string[] = [];
  const header = "## Server\n";

  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("not root (mount(2) needs it)");
  if (!existsSync("/dev/fuse")) missing.push("no /dev/fuse");
  if (missing.length) {
    const reason = `server benchmark not run: ${missing.join(", ")}`;
    if (ci) failures.push(reason);
    log(reason);
    return { markdown: `${header}\n${reason}.`, failures };
  }

  const size = opts.size ?? (smoke ? 8 * MiB : 1 << 30);
  // BENCH_SERVER_REPEATS: fewer repeats when time is short (the results say how many ran).
  const reps = smoke ? 1 : Math.max(1, Number(process.env["BENCH_SERVER_REPEATS"] ?? 3) || 3);
  const timeoutMs = smoke ? 120_000 : 30 * 60_000;
  const capacity = Math.max(4 * (1 << 30), 3 * size);
  const work = mkdtempSync(join(tmpdir(), "fuse-uapi-bench-"));
  /** Where a filesystem of that name is mounted (its name made a folder name). */
  const mountDir = (name: string) => join(work, "mnt", name.replace(/[^a-z0-9-]+/gi, "_"));
  const mounts: Mounted[] = [];
  let nativeStatus = "";

  const stopAll = async () => {
    for (const m of mounts.splice(0)) {
      try {
        await m.stop();
      } catch (err) {
        failures.push(`unmounting ${m.name}: ${why(err)}`);
      }
    }
  };
  // A signal stops the I/O under way and ends the loops; the finally below unmounts. The
  // process must not exit before that, so the handler only sets the flag.
  const running = new Set<ChildProcess>();
  let interrupted: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = sig;
    log(`server: ${sig}: stopping, then unmounting everything`);
    for (const c of running) c.kill("SIGKILL");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const cells = new Map<string, Map<string, Cell>>();
  let list: Workload[] = [];
  let tree: Tree | null = null;
  try {
    const t0 = Date.now();
    tree = makeTree(work, smoke ? { top: 2, sub: 2, perDir: 5 } : { top: 8, sub: 6, perDir: 40 });
    log(
      `server: made a source tree of ${tree.files} files (${(tree.bytes / MiB).toFixed(1)} MiB) in ${Date.now() - t0} ms`,
    );
    list = workloads(smoke, size, tree);

    const dirOf = (name: string) => {
      const d = mountDir(name);
      mkdirSync(d, { recursive: true });
      return d;
    };
    for (const [name, extra] of [
      [FS_MEMFS, []],
      [FS_MEMFS_NO_STATX, ["--no-btime"]],
      [FS_MEMFS_KERNEL_RA, ["--read-ahead", "kernel"]],
    ] as const) {
      mounts.push(
        await startServer({
          name,
          dir: dirOf(name),
          argv: [
            join(root, "dist", "examples", "memfs", "main.js"),
            dirOf(name),
            "--capacity",
            String(capacity),
            ...extra,
          ],
          ready: /^mounted memfs/,
          log: logFile(work, name),
          cwd: root,
        }),
      );
    }
    for (const [name, extra] of [
      [FS_NATIVE, []],
      [FS_NATIVE_BW, ["--big-writes"]],
      [FS_NATIVE_RA, ["--read-ahead-kb", "1024"]],
    ] as const) {
      try {
        const m = await startServer({
          name,
          dir: dirOf(name),
          argv: [join(root, "dist", "bench", "server", "fuse-native-fs.js"), dirOf(name), ...extra],
          ready: /^mounted /,
          log: logFile(work, name),
          cwd: root,
        });
        mounts.push(m);
        const loaded = m.lines.find((l) => l.startsWith("loaded "))?.slice(7) ?? "?";
        nativeStatus = `fuse-native 2.2.6 loaded \`${loaded.replace(`${root}/`, "")}\` (libfuse2 ${dpkgVersion("libfuse2") ?? "?"})`;
      } catch (err) {
        nativeStatus = `fuse-native could not be used: ${why(err)}`;
        if (ci) failures.push(nativeStatus);
        log(`server: ${nativeStatus}`);
        break;
      }
    }
    mounts.push(mountTmpfs(dirOf(FS_TMPFS), capacity));
    log(
      `server: mounted ${mounts.map((m) => m.name).join(", ")} under ${work}/mnt; ${nativeStatus}`,
    );

    for (let rep = 0; rep < reps && !interrupted; rep++) {
      for (const [wi, w] of list.entries()) {
        if (interrupted) break;
        const names = [FS_MEMFS, FS_NATIVE, ...(w.extra ?? []), FS_TMPFS];
        const here = mounts.filter((m) => names.includes(m.name));
        const shift = (rep + wi) % here.length;
        const order = [...here.slice(shift), ...here.slice(0, shift)];
        // Each sample runs every filesystem once, in this repeat's order.
        const samples = smoke ? 1 : (w.samples ?? 1);
        for (const m of Array.from({ length: samples }, () => order).flat()) {
          if (interrupted) break;
          const byFs = cells.get(w.id) ?? new Map<string, Cell>();
          cells.set(w.id, byFs);
          const cell = byFs.get(m.name) ?? { ms: [], steps: [], errors: [] };
          byFs.set(m.name, cell);
          if (!mountOf(m.dir)) {
            cell.errors.push("not mounted any more");
            continue;
          }
          try {
            const r = await runIo(root, w.task(m.dir), timeoutMs, running);
            cell.ms.push(r.ms);
            if (r.steps) cell.steps.push(r.steps);
            log(`server: [${rep + 1}/${reps}] ${w.title} on ${m.name}: ${r.ms.toFixed(0)} ms`);
          } catch (err) {
            if (interrupted) break;
            const server =
              m.name === FS_TMPFS ? "" : ` (server log: ${tail(logFile(work, m.name))})`;
            cell.errors.push(why(err) + server);
            failures.push(`${w.title} on ${m.name}: ${why(err)}${server}`);
            log(`server: [${rep + 1}/${reps}] ${w.title} on ${m.name}: FAILED: ${why(err)}`);
          }
        }
      }
    }
  } catch (err) {
    failures.push(`server benchmark: ${why(err)}`);
    log(`server: ${why(err)}`);
  } finally {
    await stopAll();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (interrupted) failures.push(`interrupted by ${interrupted}`);
    const stillMounted = ALL_FS.map(mountDir).filter((d) => mountOf(d));
    // Never remove a folder with something still mounted under it.
    if (stillMounted.length === 0) rmSync(work, { recursive: true, force: true });
    else failures.push(`still mounted, ${work} left in place: ${stillMounted.join(", ")}`);
  }
  return {
    markdown: format(list, cells, { smoke, reps, size, nativeStatus, tree, failures }),
    failures,
  };
}

function value(metric: Metric, amount: number, ms: number): string {
  switch (metric) {
    case "throughput":
      return `${(amount / MiB / (ms / 1000)).toFixed(0)} MiB/s`;
    case "files":
      return `${Math.round(amount / (ms / 1000)).toLocaleString("en-US")} files/s`;
    case "ops":
      return `${Math.round(amount / (ms / 1000)).toLocaleString("en-US")} ops/s`;
    case "time":
      return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
  }
}

function format(
  list: readonly Workload[],
  cells: Map<string, Map<string, Cell>>,
  o: {
    smoke: boolean;
    reps: number;
    size: number;
    nativeStatus: string;
    tree: Tree | null;
    failures: string[];
  },
): string {
  const get = (w: Workload, fs: string) => cells.get(w.id)?.get(fs);
  const med = (c: Cell | undefined) => (c && c.ms.length ? median(c.ms) : NaN);
  const show = (w: Workload, fs: string) => {
    const c = get(w, fs);
    if (!c || (c.ms.length === 0 && c.errors.length === 0)) return "—";
    if (c.ms.length === 0) return "failed";
    return (
      value(w.metric, w.amount, med(c)) + (c.errors.length ? ` (${c.errors.length} failed)` : "")
    );
  };
  /** memfs ÷ other as a speed ratio: the other's time ÷ memfs's time; per-repeat range in brackets. */
  const ratio = (w: Workload, fs: string, ours = FS_MEMFS) => {
    const a = get(w, ours);
    const b = get(w, fs);
    const mid = med(b) / med(a);
    if (!Number.isFinite(mid)) return "—";
    const per = (a?.ms ?? []).map((ms, i) => (b?.ms[i] ?? NaN) / ms).filter(Number.isFinite);
    const f = (x: number) => x.toFixed(2);
    const lo = Math.min(...per);
    const hi = Math.max(...per);
    return per.length > 1 && f(lo) !== f(hi) ? `${f(mid)} (${f(lo)}–${f(hi)})` : f(mid);
  };
  const rows = list.map((w) => {
    let native = ratio(w, FS_NATIVE);
    if (w.extra?.includes(FS_NATIVE_BW) && get(w, FS_NATIVE_BW)?.ms.length)
      native += ` (${ratio(w, FS_NATIVE_BW).split(" ")[0]} with its big_writes)`;
    let memfsValue = show(w, FS_MEMFS);
    if (w.extra?.includes(FS_MEMFS_NO_STATX) && get(w, FS_MEMFS_NO_STATX)?.ms.length) {
      memfsValue += ` (${show(w, FS_MEMFS_NO_STATX)} without STATX)`;
      native += `; without STATX ${ratio(w, FS_NATIVE, FS_MEMFS_NO_STATX)}`;
    }
    let nativeValue = show(w, FS_NATIVE);
    if (w.extra?.includes(FS_NATIVE_BW) && get(w, FS_NATIVE_BW)?.ms.length)
      nativeValue += ` (${show(w, FS_NATIVE_BW)} with big_writes)`;
    let tmpfs = ratio(w, FS_TMPFS);
    if (w.extra?.includes(FS_MEMFS_KERNEL_RA) && get(w, FS_MEMFS_KERNEL_RA)?.ms.length) {
      memfsValue += ` (${show(w, FS_MEMFS_KERNEL_RA)} with the kernel's read-ahead)`;
      tmpfs += `; with the kernel's read-ahead ${ratio(w, FS_TMPFS, FS_MEMFS_KERNEL_RA)}`;
    }
    if (w.extra?.includes(FS_NATIVE_RA) && get(w, FS_NATIVE_RA)?.ms.length) {
      nativeValue += ` (${show(w, FS_NATIVE_RA)} with a 1 MiB read-ahead)`;
      native += `; both with a 1 MiB read-ahead ${ratio(w, FS_NATIVE_RA)}; both with the kernel's ${ratio(w, FS_NATIVE, FS_MEMFS_KERNEL_RA)}`;
    }
    return `| ${w.title} | ${memfsValue} | ${nativeValue} | ${show(w, FS_TMPFS)} | ${native} | ${tmpfs} |`;
  });
  const treeW = list.find((w) => w.id === "tree");
  const stepRows: string[] = [];
  if (treeW) {
    for (const fs of [FS_MEMFS, FS_NATIVE, FS_TMPFS]) {
      const c = get(treeW, fs);
      if (!c || c.steps.length === 0) continue;
      const names = Object.keys(c.steps[0]!);
      stepRows.push(
        `| ${fs} | ${names.map((n) => value("time", 1, median(c.steps.map((s) => s[n]!)))).join(" | ")} |`,
      );
    }
  }
  const how = o.smoke
    ? `**Smoke run**: ${human(o.size)} sequential files, tiny counts, ${o.reps} repeat; the figures only show the harness works.`
    : `${o.reps} repeats; in each, every workload runs on every filesystem, the order rotating, and the cold reads ${READ_SAMPLES} times on each (interleaved: their spread is wide and a run short); the table shows medians of all runs, the ratios' per-run range in brackets.`;
  return [
    "## Server",
    "",
    `memfs = \`examples/memfs\` on our server (\`server/\`, default options, \`--capacity\` raised for the big files); fuse-native = an in-memory filesystem on fuse-native 2.2.6 (\`bench/server/fuse-native-fs.ts\`, libfuse 2 defaults plus default_permissions, kernel_cache and a getxattr that answers ENODATA, as memfs has them (default_permissions, FOPEN_KEEP_CACHE), so the kernel asks both the same); memfs (kernel read-ahead) = memfs with \`--read-ahead kernel\`: memfs sets its mount's read-ahead window to 1 MiB after INIT by default (\`MountOptions.readAhead\`, through /sys/class/bdi), where the kernel leaves every FUSE mount at 128 KiB, so a cold sequential read has 1 MiB in flight instead of 128 KiB, in READs of 256 KiB (its default \`max_read\`, \`MountOptions.maxRead\`: four READs per window, so a reader waits for the first quarter, not the whole MiB); fuse-native (1 MiB read-ahead) = fuse-native with the same window set the same way (libfuse 2 has no max_pages: its READs stay at 128 KiB, 8 of them in flight); memfs (no STATX) = memfs with \`--no-btime\`, run where Node's \`fs.stat\` is part of the work: libfuse 2 cannot speak STATX, so for fuse-native the kernel answers a stat of a new file from cached attributes, where memfs (which gives birth times) gets a STATX request; without its STATX handler memfs gets the same requests as fuse-native; tmpfs = the kernel's. ${o.nativeStatus ? `${o.nativeStatus}.` : ""} The I/O runs in a separate process (\`bench/server/io.ts\`, synchronous fs calls, coreutils for ls/tar/find/grep/rm). ${how}`,
    "",
    "Ratios are speed ratios: the other filesystem's time ÷ memfs's time for the same work (above 1: memfs is faster).",
    "",
    "| workload | memfs | fuse-native | tmpfs | memfs ÷ fuse-native | memfs ÷ tmpfs |",
    "|---|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    "Notes: writes include the final fsync and close; a cold read first drops the file's cached pages (`dd iflag=nocache count=0`, i.e. posix_fadvise DONTNEED) — tmpfs pages are the file itself, so its reads are never cold. `ls -l` runs 1.1 s after the files were made, past the 1 s entry/attribute timeouts of both FUSE servers. The mixed workload: 8 worker threads, each in its own folder, 35 % new files of 0.5–16 KiB, 30 % whole-file reads, 20 % stat, 10 % 1 KiB appends, 5 % unlinks.",
    ...(stepRows.length
      ? [
          "",
          "Source tree, per step (medians):",
          "",
          "| filesystem | untar | find | grep -r | rm -rf |",
          "|---|---:|---:|---:|---:|",
          ...stepRows,
        ]
      : []),
    ...(o.failures.length ? ["", "Failures:", "", ...o.failures.map((f) => `- ${f}`)] : []),
  ].join("\n");
}
