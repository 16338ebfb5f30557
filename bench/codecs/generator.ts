/**
 * The tool itself: `fuse-uapi generate` wall time and peak RSS, run as a child
 * process exactly as a user runs it (node startup included), into a fresh
 * output folder so every file is rendered and written; and one header → schema
 * in this process.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { buildSchema } from "../../generator/schema-builder.js";
import { median } from "../lib/timing.js";

export interface ToolTiming {
  readonly title: string;
  readonly note: string;
  /** Milliseconds, one per run. */
  readonly ms: number[];
  /** Peak RSS in MiB, one per run (child processes only). */
  readonly rssMiB: number[] | null;
  /** CPU time (user + system, all threads) in milliseconds, one per run. */
  readonly cpuMs: number[];
  readonly target: string;
}

interface Run {
  ms: number;
  rssMiB: number;
  cpuMs: number;
}

async function runGenerate(root: string, schemas: string[]): Promise<Run> {
  const out = mkdtempSync(join(tmpdir(), "fuse-uapi-bench-gen-"));
  const rssFile = join(out, ".maxrss");
  const hook = pathToFileURL(join(root, "dist", "bench", "lib", "rss-hook.js")).href;
  const cli = join(root, "dist", "generator", "cli.js");
  try {
    const t0 = process.hrtime.bigint();
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>(
      (resolve, reject) => {
        const child = spawn(
          process.execPath,
          ["--import", hook, cli, "generate", ...schemas, "-o", join(out, "gen")],
          {
            cwd: root,
            env: { ...process.env, BENCH_RSS_FILE: rssFile },
            stdio: ["ignore", "ignore", "pipe"],
          },
        );
        let err = "";
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        child.on("error", reject);
        child.on("close", (c) => resolve({ code: c, stderr: err }));
      },
    );
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (code !== 0) throw new Error(`fuse-uapi generate exited ${code}: ${stderr.trim()}`);
    // One folder per revision, beside the runtime they share (`_runtime`).
    const written = readdirSync(join(out, "gen")).filter((n) => !n.startsWith("_"));
    if (written.length !== schemas.length)
      throw new Error(
        `fuse-uapi generate wrote ${written.length} folders for ${schemas.length} schemas`,
      );
    const usage = JSON.parse(readFileSync(rssFile, "utf8")) as {
      maxRSS: number;
      userCPUTime: number;
      systemCPUTime: number;
    };
    return {
      ms,
      rssMiB: usage.maxRSS / 1024,
      cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export async function toolTimings(
  root: string,
  opts: { runs: number; smoke: boolean },
): Promise<ToolTiming[]> {
  const dir = join(root, "schema", "revisions");
  const all = readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => join(dir, f));
  const one = all.filter((f) => f.endsWith("base-7.45.json"));
  const results: ToolTiming[] = [];
  // Smoke mode still runs the real command, for one revision only.
  const sets: [string, string[], string][] = opts.smoke
    ? [["`fuse-uapi generate` (one revision: base-7.45)", one, "≤ 0.6 s"]]
    : [
        [`\`fuse-uapi generate\` (all ${all.length} revisions)`, all, "≤ 3 s, ≤ 200 MB"],
        ["`fuse-uapi generate` (one revision: base-7.45)", one, "≤ 0.6 s"],
      ];
  for (const [title, schemas, target] of sets) {
    const runs: Run[] = [];
    for (let i = 0; i < opts.runs; i++) runs.push(await runGenerate(root, schemas));
    results.push({
      title,
      note: "child process, node startup included, into a fresh folder (every file rendered, formatted, written)",
      ms: runs.map((r) => r.ms),
      rssMiB: runs.map((r) => r.rssMiB),
      cpuMs: runs.map((r) => r.cpuMs),
      target,
    });
  }

  const header = "/usr/include/linux/fuse.h";
  const text = readFileSync(header, "utf8");
  const t0 = process.hrtime.bigint();
  await buildSchema(text, { file: "fuse.h" });
  const firstMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const perCall = opts.smoke ? 1 : 5;
  const ms: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    const t = process.hrtime.bigint();
    const c = process.cpuUsage();
    for (let k = 0; k < perCall; k++) await buildSchema(text, { file: "fuse.h" });
    const used = process.cpuUsage(c);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6 / perCall);
    cpuMs.push((used.user + used.system) / 1000 / perCall);
  }
  results.push({
    title: `one header → schema (\`buildSchema\`, ${header})`,
    note: `in this process, warm (the first call, parser start-up included, took ${firstMs.toFixed(0)} ms); a run is the mean of ${perCall} call(s)`,
    ms,
    rssMiB: null,
    cpuMs,
    target: "≤ 50 ms",
  });
  return results;
}

export function medianMs(t: ToolTiming): number {
  return median(t.ms);
}
