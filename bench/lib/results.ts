/**
 * bench/results.md: one section per benchmark (codecs, server), each replaced
 * in place by its own run, so `npm run bench:server` keeps the codec figures
 * and the other way round. Written atomically (temporary file, then rename).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { cpus, freemem, loadavg, release, totalmem } from "node:os";

/** Where and when the figures were taken: what the table needs to be read. */
export function machineLine(root: string): string {
  const cpu = cpus();
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    // The results file itself is rewritten by the run: it does not count as a change.
    const dirty = execFileSync(
      "git",
      ["status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results.md"],
      {
        cwd: root,
        encoding: "utf8",
      },
    ).trim();
    if (dirty) commit += " (with uncommitted changes)";
  } catch {
    // not a git checkout: leave "unknown"
  }
  const gib = (n: number) => (n / 2 ** 30).toFixed(1);
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  return [
    `Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? "?"}, ${gib(totalmem())} GiB (${gib(freemem())} free), Linux ${release()}.`,
    `Node ${process.version}, commit ${commit}, ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}; load average at start ${load}.`,
  ].join(" ");
}

function markers(name: string): [string, string] {
  return [`<!-- bench:${name}:begin -->`, `<!-- bench:${name}:end -->`];
}

const TITLE =
  "# Benchmark results\n\nWritten by `npm run bench` (sections: `npm run bench:codecs`, `npm run bench:server`); see bench/README.md.\n";

/** Replaces (or appends) the section `name` of the results file with `body`. */
export function writeSection(file: string, name: string, body: string): void {
  const [begin, end] = markers(name);
  const block = `${begin}\n${body.trim()}\n${end}`;
  let text = existsSync(file) ? readFileSync(file, "utf8") : "";
  if (!text.includes("<!-- bench:")) text = TITLE; // an old-format or missing file: start over
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  text =
    a >= 0 && b > a
      ? text.slice(0, a) + block + text.slice(b + end.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  const tmp = `${file}.${process.pid}.tmp`; // same folder: rename is atomic
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export function fmtNs(ns: number): string {
  if (!Number.isFinite(ns)) return "—";
  if (ns < 1000) return `${ns.toPrecision(3)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toPrecision(3)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toPrecision(3)} ms`;
  return `${(ns / 1e9).toPrecision(3)} s`;
}

export function fmtRatio(x: number): string {
  if (!Number.isFinite(x)) return "—";
  return x >= 100 ? `${x.toFixed(0)}×` : x >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`;
}

/** "1.62× (1.55–1.70)": the median ratio and the range over runs. */
export function fmtRatioRange(mid: number, runs: readonly number[]): string {
  const lo = Math.min(...runs);
  const hi = Math.max(...runs);
  if (runs.length < 2 || fmtRatio(lo) === fmtRatio(hi)) return fmtRatio(mid);
  return `${fmtRatio(mid)} (${fmtRatio(lo).replace("×", "")}–${fmtRatio(hi)})`;
}
